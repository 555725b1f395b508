"""Each provider adapter against its real response format, good and broken, over real HTTP."""

from __future__ import annotations

import socket
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from rates.providers import (
    ProviderBadResponse,
    ProviderUnavailable,
    configured_providers,
    get_provider,
)
from tests.rates.exchanges import ALL_PROVIDERS, GOOD_VALUES, ROUTES, kucoin_level1

Unavailable, Bad = ProviderUnavailable, ProviderBadResponse


@pytest.mark.parametrize("name", ALL_PROVIDERS)
def test_good_payload_gives_the_exact_decimal_price(exchanges, name):
    price = get_provider(name).fetch()

    assert type(price) is Decimal
    assert price == GOOD_VALUES[name]
    seen = exchanges.last(name)
    assert seen.path == ROUTES[name][0]
    for key, value in ROUTES[name][1].items():
        assert seen.query[key] == value


@pytest.mark.parametrize("name", ALL_PROVIDERS)
@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("error", Bad),
        ("500", Unavailable),
        ("429", Unavailable),
        ("garbage", Bad),
        ("shape", Bad),
        ("zero", Bad),
        ("negative", Bad),
    ],
)
def test_broken_answers_raise_typed_errors(exchanges, name, mode, error):
    exchanges.set(name, mode)

    with pytest.raises(error) as caught:
        get_provider(name).fetch()

    assert caught.value.provider == name
    assert caught.value.message


def test_kraken_error_list_is_reported(exchanges):
    exchanges.set("kraken", "error")

    with pytest.raises(Bad, match="EQuery:Unknown asset pair"):
        get_provider("kraken").fetch()


@pytest.mark.parametrize(
    ("name", "status", "body"),
    [
        ("kraken", 200, '{"error":["EService:Unavailable"],"result":{}}'),
        ("kraken", 200, '{"error":["EAPI:Rate limit exceeded"]}'),
        ("kucoin", 200, '{"code":"429000","msg":"Too Many Requests"}'),
        ("coingecko", 429, '{"status":{"error_code":429,"error_message":"rate limit"}}'),
        ("coingecko", 200, '{"status":{"error_code":429,"error_message":"rate limit"}}'),
        ("bitfinex", 500, '["error",11010,"ratelimit: error"]'),
        ("bitfinex", 503, "<html>maintenance</html>"),
    ],
)
def test_temporary_provider_errors_are_unavailable(exchanges, name, status, body):
    exchanges.respond(name, status, body)

    with pytest.raises(Unavailable):
        get_provider(name).fetch()


@pytest.mark.parametrize(
    ("name", "status", "body", "match"),
    [
        ("kucoin", 200, '{"code":"200000","data":null}', "unknown symbol XMR-BTC"),
        ("kucoin", 200, '{"code":"400100","msg":"symbol invalid"}', "400100"),
        ("kucoin", 400, '{"code":"400100","msg":"symbol invalid"}', "HTTP 400"),
        ("coingecko", 200, "{}", "no price for monero"),
        ("coingecko", 200, '{"monero":{}}', "no btc price"),
        ("coingecko", 200, '{"monero":{"btc":NaN}}', "not JSON"),
        ("coingecko", 200, '{"monero":{"btc":"abc"}}', "not a price"),
        ("coingecko", 200, '{"monero":{"btc":true}}', "not a price"),
        ("coingecko", 200, '{"monero":{"btc":5000000}}', "plausible"),
        ("bitfinex", 200, "[]", "empty ticker"),
        ("bitfinex", 200, '[["tXMRBTC",0.002789,95.1,0.002791]]', "3 fields"),
        ("bitfinex", 200, "[0.002789,95.1,0.002791]", "list of ticker arrays"),
        ("bitfinex", 500, '["error",10020,"symbol: invalid"]', "10020"),
        ("kraken", 200, '{"error":[],"result":{}}', "no XXMRXXBT ticker"),
        ("kraken", 200, '{"result":{}}', "error list"),
        ("kraken", 200, "", "empty body"),
        ("kraken", 404, "not found", "HTTP 404"),
        ("kraken", 301, "", "HTTP 301"),
    ],
)
def test_malformed_answers_are_bad_responses(exchanges, name, status, body, match):
    exchanges.respond(name, status, body)

    with pytest.raises(Bad, match=match):
        get_provider(name).fetch()


def test_a_crossed_book_is_refused(exchanges):
    exchanges.respond("kucoin", 200, kucoin_level1("0.0029", "0.0028"))

    with pytest.raises(Bad, match="crossed book"):
        get_provider("kucoin").fetch()


def test_prices_never_pass_through_float(exchanges):
    exchanges.respond("coingecko", 200, '{"monero":{"btc":0.00280512345678901234}}')
    exchanges.respond("bitfinex", 200, '[["tXMRBTC",0.1,1,0.2,1,0,0,0.15,1,0.2,0.1]]')

    coingecko = get_provider("coingecko").fetch()
    bitfinex = get_provider("bitfinex").fetch()

    assert coingecko == Decimal("0.00280512345678901234")
    assert bitfinex == Decimal("0.15")  # 0.1 + 0.2 in float is 0.30000000000000004
    assert type(coingecko) is Decimal
    assert type(bitfinex) is Decimal


def test_a_huge_answer_is_refused(exchanges):
    exchanges.respond("kraken", 200, '{"error":[],"result":{"pad":"' + "x" * 300_000 + '"}}')

    with pytest.raises(Bad, match="larger than"):
        get_provider("kraken").fetch()


@pytest.mark.parametrize("mode", ["hang", "trickle"])
def test_a_slow_provider_fails_within_its_timeout(exchanges, mode):
    exchanges.set("bitfinex", mode)
    started = time.monotonic()

    with pytest.raises(Unavailable, match="within 1 s"):
        get_provider("bitfinex").fetch()

    assert time.monotonic() - started < 1.6


def test_a_refused_connection_is_unavailable(exchanges, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.RATES_PROVIDER_URLS = {
        **settings.RATES_PROVIDER_URLS,
        "kraken": f"http://127.0.0.1:{port}",
    }

    with pytest.raises(Unavailable, match="unreachable"):
        get_provider("kraken").fetch()


def test_coingecko_sends_the_demo_api_key_only_when_set(exchanges, settings):
    get_provider("coingecko").fetch()
    assert "x-cg-demo-api-key" not in {k.lower() for k in exchanges.last("coingecko").headers}

    settings.RATES_COINGECKO_API_KEY = "CG-test-key"
    get_provider("coingecko").fetch()
    headers = {k.lower(): v for k, v in exchanges.last("coingecko").headers.items()}
    assert headers["x-cg-demo-api-key"] == "CG-test-key"


def test_the_static_provider_is_the_default_and_needs_no_network(settings):
    assert settings.RATES_PROVIDERS == ["static"]
    settings.RATES_PROVIDER_URLS = {}

    [provider] = configured_providers()
    price = provider.fetch()

    assert provider.name == "static"
    assert type(price) is Decimal
    assert price == Decimal(settings.RATES_STATIC_XMR_BTC)


@pytest.mark.parametrize("value", ["abc", "0", "-0.0028", "NaN", "Infinity", ""])
def test_a_bad_static_rate_is_a_bad_response(settings, value):
    settings.RATES_STATIC_XMR_BTC = value

    with pytest.raises(Bad, match="RATES_STATIC_XMR_BTC"):
        get_provider("static").fetch()


def test_one_instance_and_one_session_per_provider(exchanges):
    first, second = get_provider("kraken"), get_provider("kraken")

    assert first is second
    assert first.session is second.session
    assert get_provider("kucoin").session is not first.session


@pytest.mark.parametrize(
    ("names", "match"),
    [
        (["static", "krakn"], "unknown provider 'krakn'"),
        (["kraken", "Kraken"], "'kraken' twice"),
        ([], "RATES_PROVIDERS is empty"),
    ],
)
def test_a_bad_provider_list_fails_with_the_bad_value_named(exchanges, settings, names, match):
    settings.RATES_PROVIDERS = names

    with pytest.raises(ImproperlyConfigured, match=match):
        configured_providers()


def test_a_provider_without_a_url_fails_by_name(settings):
    settings.RATES_PROVIDERS = ["kucoin"]
    settings.RATES_PROVIDER_URLS = {}

    with pytest.raises(ImproperlyConfigured, match="no URL for provider 'kucoin'"):
        configured_providers()
