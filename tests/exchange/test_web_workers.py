"""The web process's keep-alive connections are spread over its gunicorn workers: each
worker listens on a SO_REUSEPORT socket of its own (exchange/gunicorn_conf.py) and the
master on none, so the kernel hands new connections to every worker, also to one that
replaced a killed worker."""

from __future__ import annotations

import http.client
import os
import signal
from collections import Counter

from devtools.processes import Process, descendants, socket_holders, wait_until
from tests.processes import launcher
from tests.testenv import PORT_BASE

PORT = PORT_BASE + 97
WORKERS = 3
# With the connections spread at random, a given worker is left without one of 32 with
# probability (2/3)**32, about 2e-6; all 32 on one worker with (1/3)**31.
CONNECTIONS = 32


def _listeners() -> set[int]:
    """The pids holding a listening socket on PORT (one set per socket, merged)."""
    return set().union(*socket_holders(PORT, state="listening"))


def _open_keep_alive(n: int) -> tuple[list[http.client.HTTPConnection], Counter]:
    """``n`` keep-alive connections, each answered once and left open, and the worker that
    holds each one's server side, found right after its answer."""
    conns, served_by = [], Counter()
    for _ in range(n):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        conn.request("GET", "/api/", headers={"Accept": "application/json"})
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        assert (response.getheader("Connection") or "").lower() != "close"
        client_port = conn.sock.getsockname()[1]
        holders = socket_holders(PORT, peer_port=client_port)
        assert len(holders) == 1, holders
        (holder,) = holders[0]
        served_by[holder] += 1
        conns.append(conn)
    return conns, served_by


def _close(conns: list[http.client.HTTPConnection]) -> None:
    for conn in conns:
        conn.close()


def _workers(server: Process) -> set[int]:
    return set(descendants(server.pid))


def test_keep_alive_connections_spread_over_the_workers(live_db):
    server = launcher.start_web("web-workers", port=PORT, workers=WORKERS, threads=2)
    try:
        workers = _workers(server)
        assert len(workers) == WORKERS
        # Every worker listens on its own socket; the master's would queue connections
        # that no worker accepts.
        assert _listeners() == workers
        assert len(socket_holders(PORT, state="listening")) == WORKERS

        conns, served_by = _open_keep_alive(CONNECTIONS)
        _close(conns)
        assert set(served_by) <= workers
        assert len(served_by) == WORKERS, f"connections per worker: {dict(served_by)}"

        # A worker killed is replaced by one that binds its own socket again, and the
        # kernel hands it connections too; the killed worker's socket is gone.
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        replaced = wait_until(
            lambda: (
                (now := _workers(server)) - workers
                and len(now) == WORKERS
                and _listeners() == now
                and now
            ),
            timeout=120,
            what=f"a worker to replace pid {victim}\n{server.log_tail()}",
        )
        newcomer = (replaced - workers).pop()
        conns, served_by = _open_keep_alive(CONNECTIONS)
        _close(conns)
        assert victim not in served_by
        assert served_by[newcomer] > 0, f"connections per worker: {dict(served_by)}"
        assert len(served_by) == WORKERS, f"connections per worker: {dict(served_by)}"
    finally:
        server.stop()
