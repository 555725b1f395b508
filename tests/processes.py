"""Real processes the tests start: Celery workers and beats, web servers, Flower."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import kombu.exceptions
import redis

from tests.testenv import ROOT, SLOT, TEST_DATABASE_URL

LOG_DIR = ROOT / "var" / f"test-logs-{SLOT}"
PYTHON = sys.executable


def process_env(**extra: str) -> dict[str, str]:
    """The test environment, pointed at pytest-django's test database."""
    env = os.environ.copy()
    env["DATABASE_URL"] = TEST_DATABASE_URL
    env["PATH"] = f"{Path(PYTHON).parent}:{env.get('PATH', '')}"
    env.update(extra)
    return env


class Process:
    def __init__(self, name: str, argv: list[str], **env: str):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = LOG_DIR / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.log_start = self._log.tell()
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=process_env(**env),
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
        with open(self.log_path, "rb") as log:
            log.seek(self.log_start)
            return log.read().decode(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_worker(
    name: str = "worker",
    *,
    queues: str = "transactions,scheduled,rates,webhooks",
    concurrency: int = 2,
    **env: str,
) -> Process:
    proc = Process(
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
            f"{name}-{SLOT}@%h",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ],
        **env,
    )
    wait_for_worker(proc)
    return proc


def wait_for_worker(proc: Process, timeout: float = 60.0) -> None:
    from exchange.celery import app

    destination = [f"{proc.name}-{SLOT}@{os.uname().nodename}"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"worker {proc.name} died:\n{proc.log_tail()}")
        try:
            # A fresh connection each time: the broker may just have been restarted.
            with app.connection_for_write() as connection:
                if app.control.ping(destination=destination, timeout=0.5, connection=connection):
                    return
        except (OSError, redis.RedisError, kombu.exceptions.KombuError):
            time.sleep(0.2)
    raise RuntimeError(f"worker {proc.name} did not answer a ping:\n{proc.log_tail()}")


def start_beat(name: str = "beat") -> Process:
    return Process(
        name,
        [PYTHON, "-m", "celery", "-A", "exchange", "beat", "-l", "INFO"],
    )


def wait_until(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def wait_for_web(server: Process, base: str, *, timeout: float = 60) -> None:
    """Until ``base``/api/ answers 200 (a web server the test started)."""
    import requests

    def up():
        try:
            return requests.get(f"{base}/api/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_until(up, timeout=timeout, what=f"{server.name} to answer\n{server.log_tail()}")
