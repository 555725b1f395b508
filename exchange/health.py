"""GET /healthz: every component the engine needs, answered within 2 s.

Each check runs in its own thread with its own timeout; a check that has not answered
by the deadline is reported as down, so a hung node cannot hold the response.

Operators (staff, or ``Authorization: Bearer $METRICS_TOKEN``) get every component's
detail, checked afresh. Anyone else gets the status alone (``ok`` or ``fail``, 200 or 503),
throttled like the API and from a report at most HEALTH_PUBLIC_CACHE_SECONDS old, so
anonymous polling can never hammer the nodes (monero-wallet-rpc answers one call at a
time).
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connection, connections
from django.http import JsonResponse
from django.utils import timezone
from kombu import Connection
from rest_framework.throttling import AnonRateThrottle

from exchange.models import Heartbeat
from exchange.permissions import is_operator

DEADLINE_SECONDS = 1.8
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=12, thread_name_prefix="health")


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True}


def _redis() -> dict:
    from exchange.redis import get_redis

    get_redis().ping()
    return {"ok": True}


def _broker() -> dict:
    with Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=1,
        transport_options={"socket_timeout": 1, "socket_connect_timeout": 1, "max_retries": 0},
    ) as conn:
        conn.ensure_connection(max_retries=0, timeout=1)
    return {"ok": True}


def _node(chain: str) -> Callable[[], dict]:
    def check() -> dict:
        from wallets.selectors import node_status

        status = node_status(chain=chain, timeout=settings.HEALTH_NODE_TIMEOUT)
        return {"ok": status["reachable"], **status}

    return check


def _liveness() -> dict:
    cutoff = timezone.now() - timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)
    seen = dict(Heartbeat.objects.values_list("name", "last_seen"))
    out = {}
    for name in ["beat", *(f"worker:{q}" for q in settings.CELERY_QUEUES)]:
        last = seen.get(name)
        out[name] = {
            "ok": bool(last and last >= cutoff),
            "last_seen": last.isoformat() if last else None,
        }
    return out


def _run(check: Callable[[], dict]) -> dict:
    started = time.monotonic()
    try:
        result = check()
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        result = {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"[:300]}
    finally:
        connections.close_all()
    if "ok" in result:
        result["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def health_report() -> dict:
    checks: dict[str, Callable[[], dict]] = {
        "database": _database,
        "redis": _redis,
        "broker": _broker,
        "bitcoin": _node("bitcoin"),
        "monero": _node("monero"),
        "liveness": _liveness,
    }
    futures = {name: _pool.submit(_run, fn) for name, fn in checks.items()}
    concurrent.futures.wait(futures.values(), timeout=DEADLINE_SECONDS)
    components: dict[str, dict] = {}
    for name, future in futures.items():
        if not future.done():
            result = {"ok": False, "error": f"no answer within {DEADLINE_SECONDS} s"}
        else:
            result = future.result()
        if name == "liveness":
            if "error" in result:
                for proc in ["beat", *(f"worker:{q}" for q in settings.CELERY_QUEUES)]:
                    components[proc] = {"ok": False, "error": result["error"]}
            else:
                components.update({k: v for k, v in result.items() if k != "latency_ms"})
        else:
            components[name] = result
    failing = sorted(name for name, c in components.items() if not c["ok"])
    return {"status": "fail" if failing else "ok", "failing": failing, "components": components}


_recent: dict = {"at": -1e9, "report": None}
_recent_lock = threading.Lock()


def _recent_report() -> dict:
    """The last report if it is recent enough, else a new one (one check at a time)."""
    with _recent_lock:
        if time.monotonic() - _recent["at"] > settings.HEALTH_PUBLIC_CACHE_SECONDS:
            _recent["report"] = health_report()
            _recent["at"] = time.monotonic()
        return _recent["report"]


_nodes_recent: dict = {"at": -1e9, "report": None}
_nodes_lock = threading.Lock()


def _nodes_report() -> dict[str, dict]:
    from wallets.chains import COINS

    futures = {c.chain: _pool.submit(_run, _node(c.chain)) for c in COINS}
    concurrent.futures.wait(futures.values(), timeout=DEADLINE_SECONDS)
    report = {}
    for chain, future in futures.items():
        if future.done():
            report[chain] = {"reachable": False, **future.result()}
        else:
            report[chain] = {"reachable": False, "error": f"no answer within {DEADLINE_SECONDS} s"}
    return report


def nodes_status(*, max_age: float) -> dict[str, dict]:
    """Each chain's node status (``ChainAdapter.node_status``: reachable, height, synced),
    keyed by chain, at most ``max_age`` seconds old. Nodes are asked as /healthz asks
    them, each in its own thread within the deadline, one refresh at a time: a caller
    waits at most about DEADLINE_SECONDS, and a node that has not answered is unreachable."""
    with _nodes_lock:
        if time.monotonic() - _nodes_recent["at"] > max_age:
            _nodes_recent["report"] = _nodes_report()
            _nodes_recent["at"] = time.monotonic()
        return _nodes_recent["report"]


def healthz(request):
    if is_operator(request):
        report = health_report()
        return JsonResponse(report, status=503 if report["failing"] else 200)
    if not AnonRateThrottle().allow_request(request, None):
        return JsonResponse({"status": "throttled"}, status=429)
    report = _recent_report()
    return JsonResponse({"status": report["status"]}, status=503 if report["failing"] else 200)
