"""Third-party Greenfield clients, as shops install them from PyPI, against the engine
served by gunicorn on the regtest stack (the worker, the nodes and the database are real):

- btcpay-python-sdk (``btcpay``): its ``Invoices`` resource, configured through module
  globals, as a shop's Python back end uses it;
- btcpay-mcp: its Greenfield client (``btcpay_mcp/client.py``), loaded from its file: the
  package's ``__init__`` imports its MCP server, whose dependencies are not installed
  (requirements-nodeps.txt);
- pygreenfield: the models generated from BTCPay's OpenAPI document, deserialising what
  the engine answers.

The payment flows pay from the customer wallet, read the store's payout from the nodes
and check every webhook's ``BTCPay-Sig`` over the raw body as the PHP client does; the
books are checked against the chain after each test (tests/money_conftest.py)."""

from __future__ import annotations

import importlib.util
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import btcpay
import pygreenfield
import pytest
import requests
from django.utils import timezone

from devtools.processes import wait_until
from funding.fees import platform_fee, platform_fee_bps
from funding.models import FundingState
from invoices.models import Invoice, PaymentPrompt
from invoices.services import invoices_expire
from operations.books.spends import Spend, node_spends, payout_proofs
from stores import permissions as p
from tests.books import measured
from tests.chain import CHAIN_OF, Receiver, drive, mine, pay, receiver
from tests.flows import CREDIT_BLOCKS
from tests.greenfield.receivers import URL, php_check
from tests.greenfield.receivers import Receiver as WebhookReceiver
from tests.merchants import key_for, make_store
from tests.money_conftest import books_checked  # noqa: F401 - every test here is book-checked
from tests.testenv import ROOT
from wallets.models import MasterWallet, WalletAccount

pytestmark = pytest.mark.integration

SECRET = "the-shops-webhook-secret-0123456789"
PLACES = {"BTC": 8, "XMR": 12}
# Prices in USD at the static provider's rates (BTC/USD 60000, XMR/USD 168): 0.005 BTC,
# whose 1% platform fee is above bitcoin's dust, and 0.5 XMR, whose 1% leaves room in the
# account for a regtest Monero transfer's fee (about 0.0018 XMR).
PRICE = {"BTC": "300", "XMR": "84"}
DUE = {"BTC": 500_000, "XMR": 500_000_000_000}
PAID_EVENTS = [
    "InvoiceCreated",
    "InvoiceReceivedPayment",
    "InvoiceProcessing",
    "InvoicePaymentSettled",
    "InvoiceSettled",
]


def _load_mcp_client():
    """``btcpay_mcp/client.py`` as a module of its own, without its package."""
    package = importlib.util.find_spec("btcpay_mcp")
    assert package is not None
    assert package.submodule_search_locations
    path = Path(next(iter(package.submodule_search_locations))) / "client.py"
    spec = importlib.util.spec_from_file_location("btcpay_mcp_client", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mcp_client = _load_mcp_client()


# --- the shop ---------------------------------------------------------------------------


class Shop:
    """A store of the vendor (priced in USD), a key that may do everything on it, and the
    clients that use the key against the engine's gunicorn."""

    def __init__(self, vendor, base_url: str, currency: str, monkeypatch):
        self.currency = currency
        self.chain = CHAIN_OF[currency]
        self.paid_to: Receiver = vendor.receivers[currency]
        self.store = make_store(
            vendor.user, name="Client shop", payment_methods=[f"{currency}-CHAIN"]
        )
        self.store_id = self.store.public_id
        key, self.api = key_for(
            vendor.user, f"{p.CAN_MODIFY_STORE_SETTINGS}:{self.store_id}", label="clients"
        )
        self.key = key.plaintext
        self.base_url = base_url
        # btcpay-python-sdk reads its configuration from module globals, and wants the
        # server's address with its trailing slash.
        monkeypatch.setattr(btcpay, "api_key", self.key)
        monkeypatch.setattr(btcpay, "host_url", f"{base_url}/")
        monkeypatch.setattr(btcpay, "store_id", self.store_id)
        self.sdk = btcpay.Invoices
        self.mcp = mcp_client.BTCPayClient(
            base_url=base_url, api_key=self.key, store_id=self.store_id, timeout=30
        )

    def register_webhook(self, **body) -> dict:
        answer = self.api.post(
            f"/api/v1/stores/{self.store_id}/webhooks",
            {"url": URL, "secret": SECRET, **body},
            format="json",
        )
        assert answer.status_code == 200, answer.content
        return answer.json()

    def prompt(self, invoice_id: str) -> PaymentPrompt:
        return PaymentPrompt.objects.select_related("account").get(
            invoice__public_id=invoice_id, currency=self.currency
        )


@pytest.fixture
def shop(vendor, market, api_server, monkeypatch):
    """A BTC shop; ``xmr_shop`` is the same for Monero."""
    return Shop(vendor, api_server, "BTC", monkeypatch)


@pytest.fixture
def xmr_shop(vendor, market, api_server, monkeypatch):
    return Shop(vendor, api_server, "XMR", monkeypatch)


@pytest.fixture
def webhooks():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def base_units(display: str, currency: str) -> int:
    """A Greenfield amount string in the coin's base units (exactly, or it fails)."""
    value = Decimal(display).scaleb(PLACES[currency])
    assert value == value.to_integral_value(), display
    return int(value)


def events_received(receiver: WebhookReceiver, n: int) -> list[dict]:
    """The first ``n`` webhook bodies, once they have arrived, each signature checked."""
    wait_until(lambda: len(receiver.received) >= n, timeout=60, what=f"{n} webhooks")
    for headers, body in receiver.received:
        assert php_check(body, SECRET, headers["BTCPay-Sig"]), body
        assert not php_check(body, SECRET + "x", headers["BTCPay-Sig"])
    return receiver.bodies()


def spends_paying(chain: str, address: str) -> list[Spend]:
    """Every transaction of the chain's master wallets that paid ``address``, as the
    nodes report them."""
    found: list[Spend] = []
    for wallet in MasterWallet.objects.filter(chain=chain):
        own = set(
            WalletAccount.objects.filter(master_wallet=wallet).values_list("address", flat=True)
        )
        found += [s for s in node_spends(wallet, own, payout_proofs(wallet)) if s.pays(address)]
    return found


def assert_store_paid_once(shop: Shop, invoice_id: str, paid: int) -> None:
    """Once the prompt's payout is followed to its end: the nodes show one transaction
    from the prompt's account to the store's address, and the store's address received
    exactly what the customer paid less the platform's fee and that transaction's fee."""
    prompt = shop.prompt(invoice_id)
    drive(
        shop.chain,
        lambda: PaymentPrompt.objects.get(id=prompt.id).state == FundingState.COMPLETED,
        what="the store's payout confirmed",
        mine_each=1,
        timeout=240,
    )
    address = shop.paid_to.address
    assert measured(shop.chain, [(prompt.account, address)]) == {
        "expected": 1,
        "made": 1,
        "duplicated": 0,
        "lost": 0,
    }
    (spend,) = spends_paying(shop.chain, address)
    fee = platform_fee(paid, platform_fee_bps(), shop.currency)
    assert fee > 0
    assert shop.paid_to.received() == spend.pays(address) == paid - fee - spend.fee


def assert_store_not_paid(shop: Shop) -> None:
    assert spends_paying(shop.chain, shop.paid_to.address) == []
    assert shop.paid_to.received() == 0


def expire_now(invoice_id: str) -> None:
    """The invoice's deadline moved to a second ago, and the expiry sweep run (beat runs it
    every minute outside the tests)."""
    past = timezone.now() - timedelta(seconds=1)
    Invoice.objects.filter(public_id=invoice_id).update(expires_at=past)
    PaymentPrompt.objects.filter(invoice__public_id=invoice_id).update(expires_at=past)
    invoices_expire()


# --- btcpay-python-sdk ----------------------------------------------------------------------


def test_the_sdk_creates_reads_lists_marks_and_archives_invoices(shop):
    sdk = shop.sdk
    made = sdk.create_invoice(
        amount="30.01",
        currency="USD",
        metadata={"orderId": "sdk-1", "buyerEmail": "b@example.com"},
        checkout={"speedPolicy": "HighSpeed", "expirationMinutes": 30},
    )
    assert (made["storeId"], made["amount"], made["currency"]) == (shop.store_id, "30.01", "USD")
    assert (made["status"], made["additionalStatus"]) == ("New", "None")
    assert made["checkoutLink"] == f"{shop.base_url}/i/{made['id']}"
    assert sdk.get_invoice(made["id"]) == made

    [method] = sdk.get_invoice_payment_methods(made["id"])
    assert (method["paymentMethodId"], method["rate"]) == ("BTC-CHAIN", "60000")
    assert method["amount"] == method["due"] == "0.00050017"
    assert method["destination"] == shop.prompt(made["id"]).account.address

    other = sdk.create_invoice(amount="1", currency="USD", metadata={"orderId": "sdk-2"})
    assert [i["id"] for i in sdk.get_invoices()] == [other["id"], made["id"]]

    # The SDK marks with lowercase names only, and refuses the others itself.
    with pytest.raises(ValueError, match="only be marked invalid or settled"):
        sdk.mark_invoice_status(other["id"], "Invalid")
    marked = sdk.mark_invoice_status(other["id"], "invalid")
    assert (marked["status"], marked["additionalStatus"]) == ("Invalid", "Marked")

    # Archive is a DELETE whose answer the SDK reads as no JSON; unarchive sends ``null``.
    assert sdk.archive_invoice(made["id"]) is None
    assert sdk.get_invoice(made["id"])["archived"] is True
    assert [i["id"] for i in sdk.get_invoices()] == [other["id"]]
    assert sdk.unarchive_invoice(made["id"])["archived"] is False
    assert [i["id"] for i in sdk.get_invoices()] == [other["id"], made["id"]]


# --- btcpay-mcp's client ---------------------------------------------------------------


def test_the_mcp_client_reads_the_server_the_store_and_invoices_and_makes_webhooks(shop):
    mcp = shop.mcp
    info = mcp.get_server_info()
    assert info["supportedPaymentMethods"] == ["BTC-CHAIN", "XMR-CHAIN"]
    assert info["fullySynched"] is True

    assert [s["id"] for s in mcp.list_stores()] == [shop.store_id]
    store = mcp.get_store_info()
    assert (store["id"], store["name"], store["defaultCurrency"]) == (
        shop.store_id,
        "Client shop",
        "USD",
    )
    # Every method the server offers, each saying whether the store takes it.
    assert {m["paymentMethodId"]: m["enabled"] for m in mcp.get_store_payment_methods()} == {
        "BTC-CHAIN": True,
        "XMR-CHAIN": False,
    }

    made = mcp.create_invoice(amount="12.5", currency="USD", order_id="mcp-1", item_desc="A book")
    assert made["metadata"] == {"orderId": "mcp-1", "itemDesc": "A book"}
    assert mcp.get_invoice(made["id"]) == made
    assert [i["id"] for i in mcp.list_invoices()] == [made["id"]]
    assert [i["id"] for i in mcp.list_invoices(status="New")] == [made["id"]]
    assert mcp.list_invoices(status="Settled") == []
    [method] = mcp.get_invoice_payment_methods(made["id"])
    assert method["destination"] == shop.prompt(made["id"]).account.address
    with pytest.raises(mcp_client.BTCPayAPIError, match="HTTP 404"):
        mcp.get_invoice("no-such-invoice")

    everything = mcp.create_webhook(url=URL, secret=SECRET)
    settled_only = mcp.create_webhook(url=URL + "/settled", events=["InvoiceSettled"])
    assert everything["secret"] == SECRET
    assert len(settled_only["secret"]) >= 32
    assert settled_only["authorizedEvents"] == {
        "everything": False,
        "specificEvents": ["InvoiceSettled"],
    }
    listed = {h["id"]: h for h in mcp.list_webhooks()}
    assert set(listed) == {everything["id"], settled_only["id"]}
    assert listed[everything["id"]]["authorizedEvents"]["everything"] is True
    assert all("secret" not in h for h in listed.values())


# --- pygreenfield's models --------------------------------------------------------------------


def _greenfield_client(shop: Shop) -> pygreenfield.ApiClient:
    config = pygreenfield.Configuration()
    config.host = shop.base_url
    config.api_key["Authorization"] = shop.key
    config.api_key_prefix["Authorization"] = "token"
    return pygreenfield.ApiClient(config)


def _agrees(model_json, raw) -> None:
    """Whatever the model kept (serialised back as JSON) is what the engine sent."""
    if isinstance(model_json, dict):
        assert isinstance(raw, dict)
        for name, value in model_json.items():
            assert name in raw, name
            _agrees(value, raw[name])
    elif isinstance(model_json, list):
        assert isinstance(raw, list)
        assert len(raw) == len(model_json)
        for mine_, theirs in zip(model_json, raw, strict=True):
            _agrees(mine_, theirs)
    else:
        assert model_json == raw


def _read(client: pygreenfield.ApiClient, call, *args, model: str):
    """The generated method's own answer, and the same answer read again as ``model`` from
    the raw body (which ``_agrees`` compares it with)."""
    answer = call(*args)
    raw = call(*args, _preload_content=False)
    assert raw.status == 200
    body = json.loads(raw.data)
    parsed = client.deserialize(raw, model)
    _agrees(client.sanitize_for_serialization(parsed), body)
    return answer, parsed, body


def test_pygreenfields_models_read_our_invoice_webhook_and_server_info(shop):
    client = _greenfield_client(shop)
    invoices = pygreenfield.InvoicesApi(client)
    hooks = pygreenfield.WebhooksApi(client)

    info, _, raw_info = _read(
        client,
        pygreenfield.ServerInfoApi(client).server_info_get_server_info,
        model="ApplicationServerInfoData",
    )
    assert isinstance(info, pygreenfield.ApplicationServerInfoData)
    assert info.supported_payment_methods == ["BTC-CHAIN", "XMR-CHAIN"]
    assert info.fully_synched is True
    assert info.version == raw_info["version"]
    assert [s.chain_height for s in info.sync_status] == [
        s["chainHeight"] for s in raw_info["syncStatus"]
    ]

    created = invoices.invoices_create_invoice(
        pygreenfield.CreateInvoiceRequest(
            amount="20", currency="USD", metadata={"orderId": "pg-1"}
        ),
        shop.store_id,
    )
    assert isinstance(created, pygreenfield.InvoiceData)
    invoice, _, raw_invoice = _read(
        client, invoices.invoices_get_invoice, shop.store_id, created.id, model="InvoiceData"
    )
    assert isinstance(invoice, pygreenfield.InvoiceData)
    assert (invoice.id, invoice.store_id, invoice.amount, invoice.currency) == (
        created.id,
        shop.store_id,
        "20",
        "USD",
    )
    assert (invoice.status, invoice.additional_status, invoice.archived) == ("New", "None", False)
    assert invoice.metadata == {"orderId": "pg-1"}
    assert isinstance(invoice.checkout, pygreenfield.CheckoutOptions)
    assert invoice.checkout.payment_methods == ["BTC-CHAIN"]
    assert invoice.created_time == raw_invoice["createdTime"]

    methods, _, raw_methods = _read(
        client,
        invoices.invoices_get_invoice_payment_methods,
        shop.store_id,
        created.id,
        model="list[InvoicePaymentMethodDataModel]",
    )
    [method] = methods
    assert isinstance(method, pygreenfield.InvoicePaymentMethodDataModel)
    assert (method.destination, method.rate, method.due) == (
        raw_methods[0]["destination"],
        "60000",
        "0.00033334",
    )

    # Its list types have no items: the generated method gives the JSON list of dicts;
    # read as a list of the item's model, each is an InvoiceData.
    listed, items, _ = _read(
        client, invoices.invoices_get_invoices, shop.store_id, model="list[InvoiceData]"
    )
    assert [i["id"] for i in listed] == [created.id]
    assert [type(i) for i in items] == [pygreenfield.InvoiceData]

    made = hooks.api_v1_stores_store_id_webhooks_post(
        {"url": URL, "secret": SECRET, "authorizedEvents": {"everything": True}}, shop.store_id
    )
    assert isinstance(made, pygreenfield.WebhookDataCreate)
    assert made.secret == SECRET
    hook_id = shop.api.get(f"/api/v1/stores/{shop.store_id}/webhooks").json()[0]["id"]
    # WebhookData hands its fields to WebhookDataBase.__init__, which sets ``id`` again to
    # None: the id is read from WebhookDataBase, which keeps it.
    hook, as_base, raw_hook = _read(
        client, hooks.webhokks_get_webhook, shop.store_id, hook_id, model="WebhookDataBase"
    )
    assert isinstance(hook, pygreenfield.WebhookData)
    assert (hook.url, hook.enabled, hook.automatic_redelivery) == (URL, True, True)
    assert hook.authorized_events.everything is True
    assert hook.authorized_events.specific_events == []
    assert as_base.id == raw_hook["id"] == hook_id
    listed_hooks, hook_items, _ = _read(
        client, hooks.webhokks_get_webhooks, shop.store_id, model="list[WebhookDataBase]"
    )
    assert [h["id"] for h in listed_hooks] == [h.id for h in hook_items] == [hook_id]


def test_pygreenfields_test_package_stands_neither_for_ours_nor_in_our_collection(request):
    """pygreenfield's sdist installs a top-level ``test`` package (its generated tests):
    ``tests`` is still this repository's, and this run collected only ours."""
    ours = importlib.util.find_spec("tests")
    assert ours is not None
    assert ours.origin == str(ROOT / "tests" / "__init__.py")
    theirs = Path(importlib.util.find_spec("pygreenfield").origin).parent.parent / "test"
    assert (theirs / "test_invoices_api.py").exists()
    assert not theirs.is_relative_to(ROOT / "tests")
    for item in request.session.items:
        assert Path(str(item.path)).is_relative_to(ROOT / "tests"), item.nodeid
        assert item.module.__name__.startswith("tests."), item.nodeid


# --- paid end to end ----------------------------------------------------------------------


def test_a_usd_invoice_made_by_the_sdk_paid_in_bitcoin_settles_and_pays_the_store_once(
    shop, webhooks
):
    hook = shop.register_webhook()
    invoice = shop.sdk.create_invoice(
        amount=PRICE["BTC"], currency="USD", metadata={"orderId": "sdk-paid"}
    )
    [method] = shop.sdk.get_invoice_payment_methods(invoice["id"])
    due = base_units(method["due"], "BTC")
    assert due == DUE["BTC"]

    txid = pay(shop.chain, method["destination"], due)
    drive(
        shop.chain,
        lambda: shop.sdk.get_invoice(invoice["id"])["status"] == "Processing",
        what="processing",
    )
    mine(shop.chain, CREDIT_BLOCKS["BTC"])
    drive(
        shop.chain,
        lambda: shop.sdk.get_invoice(invoice["id"])["status"] == "Settled",
        what="settled",
    )
    settled = shop.sdk.get_invoice(invoice["id"])
    assert (settled["additionalStatus"], settled["paidAmount"]) == ("None", "300.00")

    assert_store_paid_once(shop, invoice["id"], due)

    events = events_received(webhooks, len(PAID_EVENTS))
    assert [e["type"] for e in events] == PAID_EVENTS
    assert {(e["webhookId"], e["invoiceId"], e["storeId"]) for e in events} == {
        (hook["id"], invoice["id"], shop.store_id)
    }
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    for event in (events[1], events[3]):
        assert event["payment"]["id"].startswith(txid)
        assert event["payment"]["value"] == method["due"]
        assert event["payment"]["destination"] == method["destination"]
        assert event["afterExpiration"] is False
    assert (events[4]["manuallyMarked"], events[4]["overPaid"]) == (False, False)
    assert len(webhooks.received) == len(PAID_EVENTS)


def test_a_usd_invoice_made_by_the_mcp_client_paid_in_monero_settles_and_pays_the_store_once(
    xmr_shop, webhooks
):
    shop = xmr_shop
    hook = shop.mcp.create_webhook(url=URL, secret=SECRET)
    invoice = shop.mcp.create_invoice(amount=PRICE["XMR"], currency="USD", order_id="mcp-paid")
    [method] = shop.mcp.get_invoice_payment_methods(invoice["id"])
    assert (method["paymentMethodId"], method["rate"]) == ("XMR-CHAIN", "168")
    due = base_units(method["due"], "XMR")
    assert due == DUE["XMR"]

    txid = pay(shop.chain, method["destination"], due)
    drive(
        shop.chain,
        lambda: shop.mcp.get_invoice(invoice["id"])["status"] == "Processing",
        what="processing",
    )
    mine(shop.chain, CREDIT_BLOCKS["XMR"])
    drive(
        shop.chain,
        lambda: shop.mcp.get_invoice(invoice["id"])["status"] == "Settled",
        what="settled",
    )
    assert [i["id"] for i in shop.mcp.list_invoices(status="Settled")] == [invoice["id"]]

    assert_store_paid_once(shop, invoice["id"], due)

    events = events_received(webhooks, len(PAID_EVENTS))
    assert [e["type"] for e in events] == PAID_EVENTS
    assert {e["webhookId"] for e in events} == {hook["id"]}
    assert {e["metadata"]["orderId"] for e in events} == {"mcp-paid"}
    for event in (events[1], events[3]):
        assert event["paymentMethodId"] == "XMR-CHAIN"
        assert event["payment"]["id"].startswith(txid)
        assert event["payment"]["value"] == method["due"]
    assert len(webhooks.received) == len(PAID_EVENTS)


# --- paid in part, paid late -----------------------------------------------------------------


def test_a_partly_paid_invoice_expires_as_paid_partial_and_the_store_is_not_paid(shop, webhooks):
    shop.register_webhook()
    invoice = shop.sdk.create_invoice(amount=PRICE["BTC"], currency="USD")
    [method] = shop.sdk.get_invoice_payment_methods(invoice["id"])
    part = DUE["BTC"] * 2 // 5

    pay(shop.chain, method["destination"], part)
    drive(
        shop.chain,
        lambda: shop.sdk.get_invoice(invoice["id"])["additionalStatus"] == "PaidPartial",
        what="the part seen",
    )
    [method] = shop.sdk.get_invoice_payment_methods(invoice["id"])
    assert base_units(method["due"], "BTC") == DUE["BTC"] - part
    assert shop.sdk.get_invoice(invoice["id"])["status"] == "New"

    expire_now(invoice["id"])
    expired = shop.sdk.get_invoice(invoice["id"])
    assert (expired["status"], expired["additionalStatus"]) == ("Expired", "PaidPartial")

    # The part is credited (held for the merchant), and nothing reaches the store.
    mine(shop.chain, CREDIT_BLOCKS["BTC"])
    drive(
        shop.chain,
        lambda: shop.prompt(invoice["id"]).received_amount == part,
        what="the part credited",
    )
    after = shop.sdk.get_invoice(invoice["id"])
    assert (after["status"], after["additionalStatus"]) == ("Expired", "PaidPartial")
    assert_store_not_paid(shop)
    events = events_received(webhooks, 4)
    assert [e["type"] for e in events] == [
        "InvoiceCreated",
        "InvoiceReceivedPayment",
        "InvoiceExpired",
        "InvoicePaymentSettled",
    ]
    assert events[2]["partiallyPaid"] is True
    assert events[1]["afterExpiration"] is False


def test_a_payment_after_expiry_is_paid_late_and_the_store_is_not_paid(shop, webhooks):
    shop.register_webhook()
    invoice = shop.mcp.create_invoice(amount=PRICE["BTC"], currency="USD", order_id="late-1")
    [method] = shop.mcp.get_invoice_payment_methods(invoice["id"])
    expire_now(invoice["id"])
    expired = shop.mcp.get_invoice(invoice["id"])
    assert (expired["status"], expired["additionalStatus"]) == ("Expired", "None")

    pay(shop.chain, method["destination"], base_units(method["due"], "BTC"))
    drive(
        shop.chain,
        lambda: shop.mcp.get_invoice(invoice["id"])["additionalStatus"] == "PaidLate",
        what="paid late",
    )
    assert shop.mcp.get_invoice(invoice["id"])["status"] == "Expired"

    mine(shop.chain, CREDIT_BLOCKS["BTC"])
    drive(
        shop.chain,
        lambda: shop.prompt(invoice["id"]).received_amount == DUE["BTC"],
        what="the late payment credited",
    )
    after = shop.mcp.get_invoice(invoice["id"])
    assert (after["status"], after["additionalStatus"]) == ("Expired", "PaidLate")
    assert_store_not_paid(shop)
    events = events_received(webhooks, 4)
    assert [e["type"] for e in events] == [
        "InvoiceCreated",
        "InvoiceExpired",
        "InvoiceReceivedPayment",
        "InvoicePaymentSettled",
    ]
    assert events[1]["partiallyPaid"] is False
    assert [e["afterExpiration"] for e in events[2:]] == [True, True]


# --- refunded -------------------------------------------------------------------------------


def test_a_partly_paid_invoice_refunded_by_the_mcp_client_is_claimed_and_paid_once(shop):
    invoice = shop.mcp.create_invoice(amount=PRICE["BTC"], currency="USD", order_id="refund-1")
    [method] = shop.mcp.get_invoice_payment_methods(invoice["id"])
    part = DUE["BTC"] * 2 // 5
    pay(shop.chain, method["destination"], part)
    mine(shop.chain, CREDIT_BLOCKS["BTC"])
    drive(
        shop.chain,
        lambda: shop.prompt(invoice["id"]).received_amount == part,
        what="the part credited",
    )
    expire_now(invoice["id"])

    pull = shop.mcp.refund_invoice(
        invoice["id"], refund_variant="RateThen", payout_method_id="BTC-CHAIN"
    )
    assert (pull["currency"], pull["amount"]) == ("BTC", "0.00200000")
    customer = receiver(shop.chain)
    # The customer claims it on the page the link names, as a browser posts its form.
    page = requests.Session()
    assert page.get(pull["viewLink"], timeout=30).status_code == 200
    token = page.cookies["csrftoken"]
    claim = {"address": customer.address, "csrfmiddlewaretoken": token}
    claimed = page.post(pull["viewLink"], data=claim, timeout=30, allow_redirects=False)
    assert claimed.status_code == 302
    again = page.post(pull["viewLink"], data=claim, timeout=30, allow_redirects=False)
    assert again.status_code == 409

    prompt = shop.prompt(invoice["id"])
    drive(
        shop.chain,
        lambda: PaymentPrompt.objects.get(id=prompt.id).state == FundingState.REFUNDED,
        what="the refund confirmed",
        mine_each=1,
        timeout=240,
    )
    assert measured(
        shop.chain,
        [(prompt.account, customer.address)],
        forbidden=[(prompt.account, shop.paid_to.address)],
    ) == {"expected": 1, "made": 1, "duplicated": 0, "lost": 0}
    (spend,) = spends_paying(shop.chain, customer.address)
    assert customer.received() == spend.pays(customer.address) == part - spend.fee
    assert_store_not_paid(shop)
