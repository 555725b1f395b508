"""The engine's programs started as real processes: Celery workers and beats, gunicorn, the
chain listener, and anything else a test or a benchmark runs beside it.

A ``Launcher`` stands for one isolated environment (a test slot, the benchmarks): the
variables it sets over this process's environment, the folder its logs go to and the names
its Celery workers answer to. Each ``Process`` leads a process group of its own, so that
stopping or killing it takes its children (Celery's pool, gunicorn's workers) along.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ALL_QUEUES = "transactions,scheduled,rates,webhooks"


class Process:
    """One program in its own process group, its output appended to ``log_dir/name.log``."""

    def __init__(
        self, name: str, argv: list[str], *, env: Mapping[str, str], log_dir: Path, cwd=ROOT
    ):
        log_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.log_start = self._log.tell()
        self.popen = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the whole process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15.0) -> None:
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.popen.wait(10)
        # Children of the group (e.g. Celery pool processes) go too.
        self.signal(signal.SIGKILL)
        self._log.close()

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, nothing gets to clean up."""
        self.signal(signal.SIGKILL)
        self.popen.wait(10)

    def log_text(self) -> str:
        """What this process wrote (the file also holds earlier runs' output)."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self.log_start)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_until(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; AssertionError on timeout (a
    failed test, a failed benchmark step)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def answers(base: str, path: str = "/api/") -> bool:
    """Whether the web server at ``base`` answers ``path`` with a 200."""
    import requests

    try:
        return requests.get(f"{base}{path}", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def wait_for_web(server: Process, base: str, *, timeout: float = 60) -> None:
    """Until ``base``/api/ answers 200 (a web server started as ``server``)."""

    def up():
        if not server.alive():
            raise RuntimeError(f"{server.name} died:\n{server.log_tail()}")
        return answers(base)

    wait_until(up, timeout=timeout, what=f"{server.name} to answer\n{server.log_tail()}")


class Launcher:
    """Starts processes in one isolated environment.

    ``env`` is set over this process's environment for every process (with the
    virtualenv's ``bin`` first on ``PATH``); logs go to ``log_dir``; Celery workers are
    named ``worker_names.format(name=...)`` on this host, unique to the environment so a
    ping reaches only its own workers.
    """

    def __init__(self, *, env: Mapping[str, str], log_dir: Path, worker_names: str):
        self.env = dict(env)
        self.log_dir = log_dir
        self.worker_names = worker_names

    def environ(self, **extra: str) -> dict[str, str]:
        env = os.environ.copy()
        env.update(self.env)
        env["PATH"] = f"{Path(PYTHON).parent}:{env.get('PATH', '')}"
        env.update(extra)
        return env

    def start(self, name: str, argv: list[str], **env: str) -> Process:
        return Process(name, argv, env=self.environ(**env), log_dir=self.log_dir)

    def worker_node(self, name: str, host: str | None = None) -> str:
        return f"{self.worker_names.format(name=name)}@{host or os.uname().nodename}"

    def start_worker(
        self,
        name: str = "worker",
        *,
        queues: str = ALL_QUEUES,
        concurrency: int = 2,
        timeout: float = 60.0,
        host: str | None = None,
        **env: str,
    ) -> Process:
        """A real Celery worker; returns once it answers a ping. ``host`` names the machine
        in its node name (``name@host``; this machine's name unless given), so that one
        machine can stand for several."""
        proc = self.start(
            name,
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "exchange",
                "worker",
                "-Q",
                queues,
                "-c",
                str(concurrency),
                "-n",
                f"{self.worker_names.format(name=name)}@{host or '%h'}",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
            ],
            **env,
        )
        try:
            self.wait_for_worker(proc, timeout=timeout, host=host)
        except RuntimeError:
            proc.stop()
            raise
        return proc

    def wait_for_worker(
        self, proc: Process, timeout: float = 60.0, host: str | None = None
    ) -> None:
        import kombu.exceptions
        import redis

        from exchange.celery import app

        destination = [self.worker_node(proc.name, host)]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"worker {proc.name} died:\n{proc.log_tail()}")
            try:
                # A fresh connection each time: the broker may just have been restarted.
                with app.connection_for_write() as connection:
                    if app.control.ping(
                        destination=destination, timeout=0.5, connection=connection
                    ):
                        return
            except (OSError, redis.RedisError, kombu.exceptions.KombuError):
                time.sleep(0.2)
        raise RuntimeError(f"worker {proc.name} did not answer a ping:\n{proc.log_tail()}")

    def start_beat(self, name: str = "beat", **env: str) -> Process:
        return self.start(
            name, [PYTHON, "-m", "celery", "-A", "exchange", "beat", "-l", "INFO"], **env
        )

    def start_web(
        self,
        name: str = "web",
        *,
        port: int,
        workers: int = 3,
        threads: int = 4,
        access_log: bool = False,
        timeout: float = 90.0,
        **env: str,
    ) -> Process:
        """gunicorn as the Procfile's ``web`` line starts it (``exchange.gunicorn_conf``),
        on 127.0.0.1:``port``; returns once every worker has booted and ``/api/`` answers
        200."""
        proc = self.start(
            name,
            [
                str(Path(PYTHON).parent / "gunicorn"),
                "exchange.wsgi",
                "-c",
                "python:exchange.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                *(["--access-logfile", "-"] if access_log else []),
            ],
            **env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(
                lambda: _web_ready(proc, base, workers),
                timeout=timeout,
                what=f"gunicorn on {base}\n{proc.log_tail()}",
            )
        except (AssertionError, RuntimeError):
            proc.stop()
            raise
        return proc

    def start_listener(self, name: str = "listener", *, timeout: float = 30.0, **env) -> Process:
        """``manage.py chain_listener``; returns once it says it is running."""
        proc = self.start(name, [PYTHON, "manage.py", "chain_listener"], **env)

        def running():
            if not proc.alive():
                raise RuntimeError(f"the chain listener died:\n{proc.log_tail()}")
            return "chain listener running" in proc.log_text()

        try:
            wait_until(
                running,
                timeout=timeout,
                interval=0.1,
                what=f"the chain listener to start\n{proc.log_tail()}",
            )
        except (AssertionError, RuntimeError):
            proc.stop()
            raise
        return proc


def _web_ready(proc: Process, base: str, workers: int) -> bool:
    if not proc.alive():
        raise RuntimeError(f"gunicorn died:\n{proc.log_tail()}")
    return len(descendants(proc.pid)) >= workers and answers(base)


# --- process trees and memory -------------------------------------------------------------


def ppid_and_name(pid: int) -> tuple[int, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    return int(stat.rsplit(")", 1)[1].split()[1]), name


def process_state(pid: int) -> str:
    """The kernel's state letter of ``pid`` (``R``, ``S``, ``T`` stopped, ...; ``?`` if gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = ppid_and_name(int(entry.name))
            if info:
                children.setdefault(info[0], []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def pids_named(name: str) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = ppid_and_name(int(entry.name))
            if info and info[1] == name:
                out.append(int(entry.name))
    return out


def socket_holders(port: int, *, state: str = "established", peer_port: int = 0) -> list[set[int]]:
    """The TCP sockets on local ``port`` in ``state`` (``ss`` state names: ``established``,
    ``listening``, ...), each as the set of pids that hold it; only those to ``peer_port``
    if given. Sockets of other users' processes show no pid unless this runs as root."""
    query = f"sport = :{port}" + (f" and dport = :{peer_port}" if peer_port else "")
    out = subprocess.run(
        ["ss", "-tnpH", "state", state, f"( {query} )"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout
    return [{int(p) for p in re.findall(r"pid=(\d+),", line)} for line in out.splitlines()]


def rss_kib(pid: int) -> int:
    """VmRSS of one process in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss(pid: int) -> dict:
    """VmRSS summed over ``pid`` and its descendants, with the per-process figures."""
    pids = [pid, *descendants(pid)]
    per = {p: rss_kib(p) for p in pids}
    return {
        "total_kib": sum(per.values()),
        "processes": [
            {"pid": p, "name": (ppid_and_name(p) or (0, "?"))[1], "rss_kib": kib}
            for p, kib in per.items()
        ],
    }
