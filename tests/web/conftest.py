"""Fixtures of the web tests: the pages served by a real gunicorn on the slot's WEB_PORT
against the test database, a headless Chromium driven by Playwright, and a market."""

from __future__ import annotations

import os
import re
import socket

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.processes import launcher
from tests.testenv import ROOT

WEB_PORT = int(os.environ["WEB_PORT"])
BASE_URL = f"http://127.0.0.1:{WEB_PORT}"
ARTEFACTS = ROOT / "var" / "test-artefacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Status pages poll every 2.5 s and payouts take a few scans: expectations wait longer
# than Playwright's 5 s default.
expect.set_options(timeout=20_000)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def web_server(django_db_setup):
    """gunicorn serving the whole site (pages, API, static files) from the test database."""
    if _listening(WEB_PORT):
        raise RuntimeError(f"something already listens on 127.0.0.1:{WEB_PORT} (WEB_PORT)")
    server = launcher.start_web(port=WEB_PORT, workers=2, timeout=120)
    try:
        yield BASE_URL
    finally:
        server.stop()


def _artefact_name(node_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", node_name).strip("-")


@pytest.fixture
def page(web_server, request, monkeypatch):
    """A fresh headless Chromium page on the test server. Its full-page screenshot is saved
    under var/test-artefacts/ at the end, and a JavaScript error on the page fails the test.

    Playwright's sync API keeps an asyncio loop running in this thread, which Django takes
    for an async context: the test's own ORM calls are allowed while the browser is open.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    context = browser.new_context(base_url=web_server, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(20_000)
    tab = context.new_page()
    script_errors: list[str] = []
    tab.on("pageerror", lambda error: script_errors.append(str(error)))
    try:
        yield tab
    finally:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=ARTEFACTS / f"{_artefact_name(request.node.name)}.png", full_page=True)
        context.close()
        browser.close()
        playwright.stop()
    assert script_errors == []
