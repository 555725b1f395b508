"""Invoices through Greenfield, as a shop's plugin drives them: made (200), read, listed
and filtered, marked, archived, their payment methods and payments, with the key's
permissions on the invoice's store. The chains are in memory (tests.fast.fake_chain):
the deposit addresses come from the real pool rows, the database and Redis are real."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from invoices.models import Invoice, PaymentPrompt
from orders.services.vendors import vendor_payout_address_set
from rates.cache import rate_cache_clear
from rates.models import RateSnapshot
from rates.services import rates_refresh
from stores import permissions as p
from tests.fast.fake_chain import fake_chain
from tests.merchants import key_for, make_merchant, make_store
from wallets.models import Deposit
from wallets.services import deposits_scan
from wallets.services.pool import pool_refill

pytestmark = pytest.mark.django_db

REDIRECTS = {301, 302, 303, 307, 308}


@pytest.fixture
def chains():
    with fake_chain("bitcoin") as bitcoin, fake_chain("monero") as monero:
        for chain in ("bitcoin", "monero"):
            pool_refill(chain=chain, batch_size=6, target=6)
        yield {"BTC": bitcoin, "XMR": monero}


@pytest.fixture
def fresh_rates(django_capture_on_commit_callbacks):
    """Every pair's rate from the static provider (BTC/USD 60000, XMR/BTC 0.0028)."""
    with django_capture_on_commit_callbacks(execute=True):
        rates_refresh()


@pytest.fixture
def merchant(chains):
    user = make_merchant()
    vendor_payout_address_set(user=user, currency="BTC", address="fake1merchantbtc")
    vendor_payout_address_set(user=user, currency="XMR", address="fake1merchantxmr")
    return user


@pytest.fixture
def store(merchant):
    return make_store(merchant, payment_methods=["BTC-CHAIN"], default_currency="BTC")


def api_with(store, *permissions):
    return key_for(store.owner, *(f"{perm}:{store.public_id}" for perm in permissions))[1]


@pytest.fixture
def api(store):
    return api_with(store, p.CAN_MODIFY_INVOICES)


def create(api, store, **body):
    body.setdefault("amount", "0.001")
    return api.post(f"/api/v1/stores/{store.public_id}/invoices", body, format="json")


def made(api, store, **body) -> dict:
    response = create(api, store, **body)
    assert response.status_code == 200, response.content
    return response.json()


def assert_invoice_not_found(response):
    assert response.status_code == 404, response.content
    assert response.json() == {"code": "invoice-not-found", "message": "The invoice was not found"}


# --- create -------------------------------------------------------------------------------


def test_an_invoice_is_made_with_200_and_answered_as_greenfield_has_it(api, store):
    body = made(
        api,
        store,
        amount="0.00125",
        currency="btc",
        metadata={"orderId": "A-1", "buyerEmail": "b@example.com", "posData": {"x": [1]}},
        checkout={
            "speedPolicy": "HighSpeed",
            "expirationMinutes": 30,
            "monitoringMinutes": 120,
            "redirectURL": "https://shop.example/thanks",
            "redirectAutomatically": True,
            "defaultPaymentMethod": "BTC-CHAIN",
        },
        additionalSearchTerms=["ignored"],
    )
    invoice = Invoice.objects.get(public_id=body["id"])

    assert body["storeId"] == store.public_id
    assert (body["amount"], body["currency"], body["paidAmount"]) == (
        "0.00125",
        "BTC",
        "0.00000000",
    )
    assert body["type"] == "Standard"
    assert body["checkoutLink"] == f"http://testserver/i/{invoice.public_id}"
    assert body["status"] == "New"
    assert body["additionalStatus"] == "None"
    assert body["availableStatusesForManualMarking"] == ["Settled", "Invalid"]
    assert body["archived"] is False
    assert body["metadata"] == {
        "orderId": "A-1",
        "buyerEmail": "b@example.com",
        "posData": {"x": [1]},
    }
    assert body["createdTime"] == int(invoice.created_at.timestamp())
    assert body["expirationTime"] == int(invoice.expires_at.timestamp())
    assert body["expirationTime"] - body["createdTime"] in (1799, 1800)
    assert body["monitoringExpiration"] - body["expirationTime"] == 7200
    assert body["checkout"] == {
        "speedPolicy": "HighSpeed",
        "paymentMethods": ["BTC-CHAIN"],
        "defaultPaymentMethod": None,
        "expirationMinutes": 30,
        "monitoringMinutes": 120,
        "paymentTolerance": 0,
        "redirectURL": "https://shop.example/thanks",
        "redirectAutomatically": True,
        "requiresRefundEmail": None,
        "defaultLanguage": None,
    }
    assert body["receipt"] == {}
    assert "paymentMethods" not in body
    assert all("_" not in name for name in body)
    assert invoice.order_id == "A-1"


def test_an_invoice_asked_again_with_its_idempotency_key_is_made_once(api, store):
    def asked(key: str):
        return api.post(
            f"/api/v1/stores/{store.public_id}/invoices",
            {"amount": "0.001", "metadata": {"orderId": "K-1"}},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )

    first, again = asked("shop-order-K-1"), asked("shop-order-K-1")

    assert (first.status_code, again.status_code) == (200, 200), again.content
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Invoice.objects.filter(store=store).count() == 1
    assert asked("shop-order-K-2").json()["id"] != first.json()["id"]


def test_nulls_unknown_fields_numbers_and_legacy_method_ids_are_taken(
    api, store, merchant, fresh_rates
):
    both = make_store(merchant, default_currency="BTC")
    body = made(
        api_with(both, p.CAN_CREATE_INVOICE),
        both,
        amount=Decimal("0.5"),  # sent as a JSON number
        currency=None,
        metadata=None,
        checkout={"paymentMethods": ["BTC", "XMR_CHAIN"], "speedPolicy": None, "lazy": 1},
        somethingNew={"a": 1},
    )
    assert body["amount"] == "0.5"
    # A JSON number of 18 significant digits, as written: a float would have lost some.
    precise = api.post(
        f"/api/v1/stores/{store.public_id}/invoices",
        '{"amount": 123456.123456789012, "currency": "BTC"}',
        content_type="application/json",
    )
    assert precise.json()["amount"] == "123456.123456789012"
    assert body["currency"] == "BTC"
    assert body["metadata"] == {}
    assert body["checkout"]["paymentMethods"] == ["BTC-CHAIN", "XMR-CHAIN"]
    assert body["checkout"]["speedPolicy"] == both.speed_policy


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": None}, "amount"),
        ({"amount": "1", "currency": "ZZZ"}, "currency"),
        ({"amount": "1", "checkout": {"speedPolicy": "Warp"}}, "checkout.speedPolicy"),
        ({"amount": "1", "checkout": {"paymentMethods": ["LTC-CHAIN"]}}, "checkout.paymentMethods"),
        ({"amount": "1", "checkout": {"expirationMinutes": 0}}, "checkout.expirationMinutes"),
        ({"amount": "1", "checkout": {"expirationMinutes": "x"}}, "checkout.expirationMinutes"),
        ({"amount": "1", "metadata": [1]}, "metadata"),
    ],
)
def test_a_bad_request_is_422_with_the_field_path(api, store, body, path):
    response = api.post(f"/api/v1/stores/{store.public_id}/invoices", body, format="json")
    assert response.status_code == 422, response.content
    assert [e["path"] for e in response.json()] == [path]
    assert not Invoice.objects.filter(store=store).exists()


def test_a_price_beyond_what_a_coin_can_be_asked_is_422_not_a_crash(merchant, fresh_rates):
    store = make_store(merchant, payment_methods=["XMR-CHAIN"], default_currency="BTC")
    response = create(api_with(store, p.CAN_CREATE_INVOICE), store, amount="900000000")
    assert response.status_code == 422, response.content
    assert [e["path"] for e in response.json()] == ["amount"]
    assert not Invoice.objects.filter(store=store).exists()


def test_a_body_that_is_not_json_is_422(api, store):
    response = api.post(
        f"/api/v1/stores/{store.public_id}/invoices", "{nope", content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()[0]["path"] == ""


# --- fiat pricing ---------------------------------------------------------------------------


def test_a_fiat_invoice_is_priced_at_the_static_providers_rate(merchant, fresh_rates):
    store = make_store(merchant, payment_methods=["BTC-CHAIN"])  # priced in USD by default
    api = api_with(store, p.CAN_MODIFY_INVOICES)

    body = made(api, store, amount="30.01")
    assert (body["amount"], body["currency"], body["paidAmount"]) == ("30.01", "USD", "0.00")
    [method] = api.get(
        f"/api/v1/stores/{store.public_id}/invoices/{body['id']}/payment-methods"
    ).json()
    # 30.01 USD at 60000 USD per BTC is 50016.66… satoshi: rounded up.
    assert (method["rate"], method["amount"], method["due"]) == (
        "60000",
        "0.00050017",
        "0.00050017",
    )


def test_without_a_fresh_rate_the_invoice_is_503_as_the_engine_answers_it(merchant, fresh_rates):
    RateSnapshot.objects.filter(pair="BTC/USD").update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    rate_cache_clear()
    store = make_store(merchant, payment_methods=["BTC-CHAIN"])

    response = create(api_with(store, p.CAN_CREATE_INVOICE), store, amount="10")

    assert response.status_code == 503, response.content
    assert set(response.json()) == {"code", "message"}
    assert response.json()["code"] == "rate_unavailable"
    assert response["Retry-After"]
    assert not Invoice.objects.filter(store=store).exists()


# --- permissions ----------------------------------------------------------------------------


def test_create_view_and_modify_each_need_their_permission(store):
    creator = api_with(store, p.CAN_CREATE_INVOICE)
    viewer = api_with(store, p.CAN_VIEW_INVOICES)
    base = f"/api/v1/stores/{store.public_id}/invoices"

    invoice = made(creator, store)
    path = f"{base}/{invoice['id']}"
    refused = [
        creator.get(base),
        creator.get(path),
        viewer.post(base, {"amount": "1"}, format="json"),
        viewer.put(path, {"metadata": {}}, format="json"),
        viewer.delete(path),
        viewer.post(f"{path}/status", {"status": "Invalid"}, format="json"),
        viewer.post(f"{path}/unarchive", {}, format="json"),
    ]
    for response in refused:
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "missing-permission"
    assert viewer.get(base).status_code == 200
    assert viewer.get(path).status_code == 200
    assert viewer.get(f"/api/v1/invoices/{invoice['id']}").status_code == 200
    assert viewer.get(f"{path}/payment-methods").status_code == 200


def test_another_stores_invoice_is_not_found_in_any_form(merchant, store, api):
    other_store = make_store(
        merchant, name="other", payment_methods=["BTC-CHAIN"], default_currency="BTC"
    )
    theirs = made(api_with(other_store, p.CAN_MODIFY_INVOICES), other_store)["id"]
    someone_else = make_store(make_merchant(), name="else")

    for path in (
        f"/api/v1/stores/{store.public_id}/invoices/{theirs}",
        f"/api/v1/stores/{store.public_id}/invoices/{theirs}/payment-methods",
        f"/api/v1/invoices/{theirs}",
        f"/api/v1/invoices/{theirs}/payment-methods",
        f"/api/v1/stores/{store.public_id}/invoices/nosuchinvoice",
        "/api/v1/invoices/nosuchinvoice",
    ):
        assert_invoice_not_found(api.get(path))
    assert_invoice_not_found(api.post(f"/api/v1/invoices/{theirs}/status", {"status": "Invalid"}))
    assert_invoice_not_found(api.delete(f"/api/v1/invoices/{theirs}"))
    assert Invoice.objects.get(public_id=theirs).status == "New"
    assert Invoice.objects.get(public_id=theirs).archived is False
    listed = api.get(f"/api/v1/stores/{other_store.public_id}/invoices")
    assert listed.status_code == 404
    assert listed.json()["code"] == "store-not-found"
    assert (
        api.get(f"/api/v1/stores/{someone_else.public_id}/invoices").json()["code"]
        == "store-not-found"
    )


def test_the_store_less_route_reads_the_invoices_store_and_its_permission(store):
    invoice = made(api_with(store, p.CAN_CREATE_INVOICE), store)
    creator = api_with(store, p.CAN_CREATE_INVOICE)
    response = creator.get(f"/api/v1/invoices/{invoice['id']}")
    assert response.status_code == 403
    assert response.json()["missingPermission"] == p.CAN_VIEW_INVOICES
    unscoped = key_for(store.owner, p.CAN_VIEW_INVOICES)[1]
    assert unscoped.get(f"/api/v1/invoices/{invoice['id']}").json()["id"] == invoice["id"]


# --- list -----------------------------------------------------------------------------------


def test_the_list_filters_and_pages_newest_first(api, store):
    a = made(api, store, metadata={"orderId": "order-a", "buyerEmail": "ann@example.com"})
    b = made(api, store, metadata={"orderId": "order-b"})
    c = made(api, store, metadata={"orderId": "order-c"})
    Invoice.objects.filter(public_id=a["id"]).update(created_at=timezone.now() - timedelta(days=2))
    api.post(
        f"/api/v1/stores/{store.public_id}/invoices/{b['id']}/status",
        {"status": "invalid"},
        format="json",
    )
    base = f"/api/v1/stores/{store.public_id}/invoices"

    def ids(query=""):
        response = api.get(f"{base}?{query}")
        assert response.status_code == 200, response.content
        assert isinstance(response.json(), list)
        return [i["id"] for i in response.json()]

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids("orderId=order-a&orderId=order-c") == [c["id"], a["id"]]
    assert ids("status=Invalid") == [b["id"]]
    assert ids("status=new&status=INVALID") == [c["id"], b["id"], a["id"]]
    assert ids("status=new") == [c["id"], a["id"]]
    assert ids("textSearch=order-b") == [b["id"]]
    assert ids("textSearch=ann@") == [a["id"]]
    assert ids(f"textSearch={a['id'][:10]}") == [a["id"]]
    yesterday = int((timezone.now() - timedelta(days=1)).timestamp())
    assert ids(f"startDate={yesterday}") == [c["id"], b["id"]]
    assert ids(f"endDate={yesterday}") == [a["id"]]
    assert ids("skip=1&take=1") == [b["id"]]
    assert ids("take=2") == [c["id"], b["id"]]
    assert ids("skip=5") == []
    listed = api.get(f"{base}?startDate={yesterday}&endDate={yesterday - 10}")
    assert listed.status_code == 422
    assert {e["path"] for e in listed.json()} == {"startDate", "endDate"}
    assert api.get(f"{base}?take=x").json()[0]["path"] == "take"


def test_an_address_finds_its_invoice(api, store):
    invoice = made(api, store)
    address = PaymentPrompt.objects.get(invoice__public_id=invoice["id"]).account.address
    listed = api.get(f"/api/v1/stores/{store.public_id}/invoices?textSearch={address}")
    assert [i["id"] for i in listed.json()] == [invoice["id"]]


# --- status, archive, metadata ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Settled", "settled", "SETTLED"])
def test_marking_settled_in_any_case(api, store, name):
    invoice = made(api, store)
    response = api.post(
        f"/api/v1/stores/{store.public_id}/invoices/{invoice['id']}/status",
        {"status": name},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["additionalStatus"]) == ("Settled", "Marked")
    assert body["availableStatusesForManualMarking"] == []


def test_marking_invalid_then_settled_and_a_bad_status(api, store):
    invoice = made(api, store)
    path = f"/api/v1/invoices/{invoice['id']}/status"

    invalid = api.post(path, {"status": "invalid"}, format="json").json()
    assert (invalid["status"], invalid["additionalStatus"]) == ("Invalid", "Marked")
    assert invalid["availableStatusesForManualMarking"] == ["Settled"]

    bad = api.post(path, {"status": "Processing"}, format="json")
    assert bad.status_code == 422
    assert bad.json()[0]["path"] == "status"
    assert api.post(path, {}, format="json").json()[0]["path"] == "status"

    assert api.post(path, {"status": "Settled"}, format="json").json()["status"] == "Settled"
    refused = api.post(path, {"status": "Invalid"}, format="json")
    assert refused.status_code == 422
    assert refused.json()[0]["path"] == "status"


def test_archive_hides_it_from_the_list_and_unarchive_brings_it_back(api, store):
    invoice = made(api, store)
    base = f"/api/v1/stores/{store.public_id}/invoices"
    path = f"{base}/{invoice['id']}"

    deleted = api.delete(path)
    assert deleted.status_code == 200
    assert api.get(path).json()["archived"] is True
    assert api.get(base).json() == []
    assert [i["id"] for i in api.get(f"{base}?includeArchived=true").json()] == [invoice["id"]]

    back = api.post(f"{path}/unarchive")
    assert back.status_code == 200
    assert back.json()["archived"] is False
    again = api.post(f"{path}/unarchive")
    assert again.status_code == 400
    assert again.json()["code"] == "already-unarchived"


def test_put_replaces_the_metadata_and_the_order_id_follows(api, store):
    invoice = made(api, store, metadata={"orderId": "old", "x": 1})
    path = f"/api/v1/stores/{store.public_id}/invoices/{invoice['id']}"

    updated = api.put(path, {"metadata": {"orderId": "new", "y": [2]}}, format="json")
    assert updated.status_code == 200
    assert updated.json()["metadata"] == {"orderId": "new", "y": [2]}
    assert Invoice.objects.get(public_id=invoice["id"]).order_id == "new"
    unchanged = api.put(path, {"metadata": None}, format="json").json()
    assert unchanged["metadata"] == {"orderId": "new", "y": [2]}
    assert api.put(path, {"metadata": "text"}, format="json").json()[0]["path"] == "metadata"


# --- payment methods ----------------------------------------------------------------------------


def test_payment_methods_of_a_lazy_store_are_activated_on_request(merchant, fresh_rates):
    store = make_store(
        merchant, payment_methods=["BTC-CHAIN", "XMR-CHAIN"], lazy_payment_methods=True
    )
    api = api_with(store, p.CAN_MODIFY_INVOICES)
    invoice = made(api, store, amount="0.01", currency="BTC")
    path = f"/api/v1/stores/{store.public_id}/invoices/{invoice['id']}/payment-methods"

    methods = api.get(path).json()
    assert [m["paymentMethodId"] for m in methods] == ["BTC-CHAIN", "XMR-CHAIN"]
    for method in methods:
        assert method["activated"] is False
        assert method["destination"] is None
        assert method["paymentLink"] == ""
        assert method["payments"] == []

    for name in ("XMR", "xmr-chain"):  # twice: the second changes nothing
        activated = api.post(f"{path}/XMR/activate".replace("/XMR/", f"/{name}/"))
        assert activated.status_code == 200, activated.content
    btc, xmr = api.get(path).json()
    assert btc["activated"] is False
    assert xmr["activated"] is True
    prompt = PaymentPrompt.objects.get(invoice__public_id=invoice["id"], currency="XMR")
    assert xmr["destination"] == prompt.account.address
    assert xmr["paymentLink"].startswith(f"monero:{prompt.account.address}?")
    unknown = api.post(f"{path}/LTC-CHAIN/activate")
    assert unknown.status_code == 422
    assert unknown.json()[0]["path"] == "paymentMethod"


def test_payment_methods_show_the_payments_seen_and_credited(api, store, chains):
    invoice = made(api, store, amount="0.001")
    prompt = PaymentPrompt.objects.get(invoice__public_id=invoice["id"])
    path = f"/api/v1/stores/{store.public_id}/invoices/{invoice['id']}/payment-methods"

    [fresh] = api.get(path).json()
    assert fresh == {
        "paymentMethodId": "BTC-CHAIN",
        "currency": "BTC",
        "destination": prompt.account.address,
        "paymentLink": f"bitcoin:{prompt.account.address}?amount=0.001",
        "rate": "1",
        "paymentMethodPaid": "0.00000000",
        "totalPaid": "0.00000000",
        "due": "0.00100000",
        "amount": "0.00100000",
        "paymentMethodFee": "0",
        "activated": True,
        "additionalData": {},
        "payments": [],
    }

    chains["BTC"].pay(prompt.account.address, 40_000)
    deposits_scan(chain="bitcoin")
    [method] = api.get(path).json()
    deposit = Deposit.objects.get(account=prompt.account)
    assert method["paymentMethodPaid"] == method["totalPaid"] == "0.00040000"
    assert method["due"] == "0.00060000"
    assert method["paymentLink"].endswith("amount=0.0006")
    assert method["payments"] == [
        {
            "id": f"{deposit.txid}-{deposit.output_key}",
            "receivedDate": int(deposit.first_seen_at.timestamp()),
            "value": "0.00040000",
            "fee": "0",
            "status": "Processing",
            "destination": prompt.account.address,
        }
    ]
    assert api.get(f"/api/v1/invoices/{invoice['id']}").json()["paidAmount"] == "0.00040000"

    Deposit.objects.filter(id=deposit.id).update(credited_at=timezone.now())
    assert api.get(path).json()[0]["payments"][0]["status"] == "Settled"
    Deposit.objects.filter(id=deposit.id).update(dropped=True)
    assert api.get(path).json()[0]["payments"] == []
    assert api.get(path).json()[0]["totalPaid"] == "0.00000000"
    [shown] = api.get(f"{path}?onlyAccountedPayments=false").json()[0]["payments"]
    assert shown["status"] == "Invalid"
    with_methods = api.get(f"/api/v1/invoices/{invoice['id']}?includePaymentMethods=true").json()
    assert with_methods["paymentMethods"][0]["paymentMethodId"] == "BTC-CHAIN"


# --- routes -------------------------------------------------------------------------------------


def routes(store, invoice_id):
    s, i = store.public_id, invoice_id
    return [
        ("get", f"/api/v1/stores/{s}/invoices", None),
        ("post", f"/api/v1/stores/{s}/invoices", {"amount": "0.001"}),
        ("get", f"/api/v1/stores/{s}/invoices/{i}", None),
        ("get", f"/api/v1/invoices/{i}", None),
        ("put", f"/api/v1/stores/{s}/invoices/{i}", {"metadata": {"a": 1}}),
        ("put", f"/api/v1/invoices/{i}", {"metadata": {"a": 1}}),
        ("post", f"/api/v1/stores/{s}/invoices/{i}/status", {"status": "Invalid"}),
        ("post", f"/api/v1/invoices/{i}/status", {"status": "Invalid"}),
        ("get", f"/api/v1/stores/{s}/invoices/{i}/payment-methods", None),
        ("get", f"/api/v1/invoices/{i}/payment-methods", None),
        ("post", f"/api/v1/stores/{s}/invoices/{i}/payment-methods/BTC-CHAIN/activate", {}),
        ("post", f"/api/v1/invoices/{i}/payment-methods/BTC/activate", {}),
        ("delete", f"/api/v1/stores/{s}/invoices/{i}", None),
        ("delete", f"/api/v1/invoices/{i}", None),
        ("post", f"/api/v1/stores/{s}/invoices/{i}/unarchive", {}),
    ]


def test_every_invoice_route_answers_with_and_without_the_slash_and_never_redirects(api, store):
    invoice = made(api, store)["id"]
    for method, path, body in routes(store, invoice):
        for form in (path, path + "/"):
            if form.endswith("/unarchive") or form.endswith("/unarchive/"):
                Invoice.objects.filter(public_id=invoice).update(archived=True)
            response = getattr(api, method)(form, body, format="json")
            assert response.status_code not in REDIRECTS, form
            assert response.status_code == 200, (method, form, response.content)
