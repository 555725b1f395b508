"""The processes the tests start (Celery workers and beats, web servers, Flower, proxies):
the test slot's launcher, pointed at pytest-django's test database."""

from __future__ import annotations

from devtools.processes import Launcher
from tests.testenv import ROOT, SLOT, TEST_DATABASE_URL

LOG_DIR = ROOT / "var" / f"test-logs-{SLOT}"

launcher = Launcher(
    env={"DATABASE_URL": TEST_DATABASE_URL},
    log_dir=LOG_DIR,
    worker_names=f"{{name}}-{SLOT}",
)
