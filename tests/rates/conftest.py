"""Fixtures of the rates tests: the local exchanges server and a clean slate per test."""

from __future__ import annotations

import threading

import pytest

from tests.rates.exchanges import ALL_PROVIDERS, FakeExchanges, Handler, Server


@pytest.fixture(scope="session")
def fake_exchanges():
    """The local exchanges server, for the whole session."""
    server = Server(("127.0.0.1", 0), Handler)
    server.exchanges = FakeExchanges(port=server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name="fake-exchanges", daemon=True)
    thread.start()
    yield server.exchanges
    server.exchanges.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def exchanges(fake_exchanges, settings):
    """All four real providers configured against the local server, 1 s timeout, quorum 2."""
    settings.RATES_PROVIDER_URLS = {name: fake_exchanges.url(name) for name in ALL_PROVIDERS}
    settings.RATES_PROVIDERS = list(ALL_PROVIDERS)
    settings.RATES_PROVIDER_TIMEOUT = 1.0
    settings.RATES_QUORUM = 2
    settings.RATES_MAX_DEVIATION_PERCENT = "5"
    settings.RATES_COINGECKO_API_KEY = ""
    return fake_exchanges


@pytest.fixture(autouse=True)
def _rates_isolation(fake_exchanges):
    """Every test starts with good routes, no cached rate, no pending refresh request, and
    leaves the broker's ``rates`` queue as it found it."""
    from exchange.redis import get_redis
    from rates.cache import rate_cache_clear
    from rates.services import REFRESH_REQUEST_KEY

    r = get_redis()
    fake_exchanges.reset()
    rate_cache_clear()
    r.delete(REFRESH_REQUEST_KEY)
    queued = r.llen("rates")
    yield
    fake_exchanges.reset()
    rate_cache_clear()
    r.delete(REFRESH_REQUEST_KEY)
    for _ in range(max(0, r.llen("rates") - queued)):
        r.lpop("rates")


@pytest.fixture
def refresh(django_capture_on_commit_callbacks):
    """``rates_refresh()`` with its after-commit cache write run, as outside a test."""
    from rates.services import rates_refresh

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return rates_refresh()

    return run
