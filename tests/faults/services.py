"""Stopping and starting the machine's MariaDB and Redis, as an operator's restart does."""

from __future__ import annotations

import socket
import subprocess
import time

REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]
MARIADB_START = [
    "start-stop-daemon",
    "--start",
    "--oknodo",
    "--background",
    "--exec",
    "/usr/sbin/mariadbd",
]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(port: int, *, up: bool, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while port_open(port) != up:
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} did not go {'up' if up else 'down'} in {timeout} s")
        time.sleep(0.1)


def redis_restart() -> None:
    """Shut Redis down without saving (it keeps nothing on disk here: everything is wiped)
    and start it again with the machine's own command."""
    subprocess.run(
        ["redis-cli", "-p", "6379", "shutdown", "nosave"], check=False, capture_output=True
    )
    _wait(6379, up=False)
    subprocess.run(REDIS_START, check=True, capture_output=True)
    _wait(6379, up=True)


def mariadb_restart(*, down_for: float = 2.0) -> None:
    """A clean MariaDB shutdown, a pause, and a start (its data is kept, as in a restart)."""
    subprocess.run(
        ["mysqladmin", "-uroot", "-h127.0.0.1", "shutdown"], check=True, capture_output=True
    )
    _wait(3306, up=False)
    time.sleep(down_for)
    subprocess.run(MARIADB_START, check=True, capture_output=True)
    _wait(3306, up=True)
    deadline = time.monotonic() + 60
    while subprocess.run(
        ["mysql", "-uroot", "-h127.0.0.1", "-e", "SELECT 1"], capture_output=True, check=False
    ).returncode:
        if time.monotonic() > deadline:
            raise RuntimeError("MariaDB did not accept queries after its restart")
        time.sleep(0.2)
