"""An anonymous swap's public id is the capability to read it: the request log, Django's
log and gunicorn's access log never carry it."""

from __future__ import annotations

import uuid

import requests

from devtools.processes import wait_for_web, wait_until
from exchange.logging import redact
from tests.processes import launcher
from tests.testenv import PORT_BASE, ROOT

PORT = PORT_BASE + 96


def test_redact_replaces_swap_ids_in_every_spelling():
    swap = uuid.uuid4()
    for text in (f"/api/swaps/{swap}", f"/swaps/{swap}/status.json", f"/swaps/{swap.hex}/"):
        assert str(swap) not in redact(text)
        assert swap.hex not in redact(text)
        assert "/swaps/{id}" in redact(text)
    assert redact("/api/orders/12") == "/api/orders/12"


def test_the_web_process_logs_no_swap_id(live_db):
    web_line = next(
        line.split(":", 1)[1]
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.startswith("web:")
    )
    server = launcher.start("web-logs", ["bash", "-c", f"exec {web_line}"], WEB_PORT=str(PORT))
    base = f"http://127.0.0.1:{PORT}"
    try:
        wait_for_web(server, base, timeout=120)
        swap = uuid.uuid4()
        assert requests.get(f"{base}/api/swaps/{swap}", timeout=10).status_code == 404
        assert requests.get(f"{base}/swaps/{swap}/", timeout=10).status_code == 404
        wait_until(
            lambda: server.log_path.read_text(errors="replace").count("/swaps/{id}") >= 2,
            timeout=30,
            what=f"the requests in the access log\n{server.log_tail()}",
        )
        log = server.log_path.read_text(errors="replace")
        assert str(swap) not in log
        assert swap.hex not in log
    finally:
        server.stop()
