"""The Procfile's processes, run by honcho as `make run` runs them."""

import os
import signal
import uuid
from pathlib import Path

import requests
import yaml

from devtools.processes import PYTHON, wait_until
from tests.processes import LOG_DIR, launcher
from tests.testenv import ROOT

WEB = f"http://127.0.0.1:{os.environ['WEB_PORT']}"
FLOWER = f"http://127.0.0.1:{os.environ['FLOWER_PORT']}"


def _procfile_names() -> set[str]:
    return {
        line.split(":", 1)[0]
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"EXCHANGE_RUN_MARKER={marker}".encode() in environ:
            found.append(int(entry.name))
    return found


# How long the Procfile stack may take to come up on a loaded machine: every wait below
# retries its request until the condition holds within this, never one read.
STARTUP = 120


def _get(url, **kwargs):
    """None while the server is not answering yet: refused, or too busy starting to answer
    within a generous read timeout (the wait around it is the ceiling that counts)."""
    try:
        return requests.get(url, timeout=15, **kwargs)
    except (requests.ConnectionError, requests.Timeout):
        return None


def _status(url, status: int, what: str, **kwargs) -> requests.Response:
    """The first answer of ``url`` with ``status``, asked again until STARTUP runs out."""
    return wait_until(
        lambda: (r := _get(url, **kwargs)) is not None and r.status_code == status and r,
        timeout=STARTUP,
        what=what,
    )


def _answer(url, what: str, **kwargs) -> requests.Response:
    """The first answer of ``url``, whatever its status (a requests.Response is falsy for
    4xx, hence the explicit None check)."""
    return wait_until(
        lambda: (r := _get(url, **kwargs)) is not None and [r], timeout=STARTUP, what=what
    )[0]


def test_procfile_stack_is_healthy_flower_is_locked_and_ctrl_c_stops_everything(live_db, regtest):
    from django.core.management import call_command

    call_command("setup_periodic_tasks")
    marker = uuid.uuid4().hex
    empty_env = LOG_DIR / "empty.env"
    empty_env.write_text("")
    honcho = launcher.start(
        "honcho",
        [str(Path(PYTHON).parent / "honcho"), "-e", str(empty_env), "start", "-f", "Procfile"],
        EXCHANGE_RUN_MARKER=marker,
        WEB_WORKERS="2",
        WORKER_CONCURRENCY="2",
    )
    try:
        health = _status(
            f"{WEB}/healthz", 200, f"/healthz 200 from the Procfile stack\n{honcho.log_tail()}"
        )
        assert health.json()["status"] == "ok"

        user, password = os.environ["FLOWER_BASIC_AUTH"].split(":", 1)
        assert _answer(FLOWER, f"Flower\n{honcho.log_tail()}").status_code == 401
        assert _answer(FLOWER, "Flower", auth=(user, "wrong")).status_code == 401
        assert _answer(FLOWER, "Flower", auth=(user, password)).status_code == 200
        assert len(_processes_with(marker)) >= len(_procfile_names())
    finally:
        honcho.signal(signal.SIGINT)
        honcho.popen.wait(60)

    wait_until(lambda: not _processes_with(marker), timeout=30, what="every process to exit")
    assert _get(f"{WEB}/healthz") is None


def test_compose_file_runs_every_procfile_process_and_the_services_it_needs():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())
    services = set(compose["services"])

    assert _procfile_names() <= services
    assert {"mariadb", "redis", "bcoin", "monerod", "monero-wallet-rpc"} <= services
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            assert (ROOT / "docker" / build["context"] / build["dockerfile"]).exists(), name
