"""Addresses on the regtest nodes: bitcoin deposit addresses are native segwit; every
bitcoin address type a wallet gives is either paid, with the output script the node holds
being that address's, or refused where the customer types it; and Monero's standard,
subaddress and integrated addresses are each paid to the account (and payment id) they
name, as the receiving wallet reports it (tests/fast/wallets/test_addresses.py has the
offline cases on every network)."""

from __future__ import annotations

import os

import pytest
from embit import ec, script

from orders.models import OrderState
from tests.chain import CHAIN_OF, drive, mine, pay, receiver
from tests.flows import CREDIT_BLOCKS, create, settle, state_of
from wallets.addresses import validate_address
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_customer_monero_client
from wallets.models import AccountPurpose, Payout, WalletAccount

# bcoin's regtest parameters (lib/protocol/networks.js), for embit.
BCOIN_REGTEST = {"p2pkh": b"\x3c", "p2sh": b"\x26", "bech32": "rb"}


def scripts() -> dict[str, script.Script]:
    """An output script of each payable type, of a fresh key nobody will spend from."""
    key = ec.PrivateKey(os.urandom(32)).get_public_key()
    return {
        "p2pkh": script.p2pkh(key),
        "p2sh": script.p2sh(script.p2wpkh(key)),
        "p2wpkh": script.p2wpkh(key),
        "p2wsh": script.p2wsh(script.multisig(1, [key])),
    }


def refunded_to(buyer, vendor, currency: str, addresses: dict[str, str]) -> dict[str, Payout]:
    """An order for each address, paid, escrowed and refunded to it, the refund confirmed:
    each refund's payout, by the key of its address."""
    chain = CHAIN_OF[currency]
    orders = {
        kind: create(buyer, vendor, currency, refund_address=address)
        for kind, address in addresses.items()
    }
    for order in orders.values():
        pay(chain, order["deposit_address"], int(order["amount"]))
    mine(chain, CREDIT_BLOCKS[currency])
    drive(
        chain,
        lambda: all(state_of(o["id"]) == OrderState.ESCROWED for o in orders.values()),
        what="every order escrowed",
    )
    for order in orders.values():
        response = vendor.api.post(
            f"/api/orders/{order['id']}/refund", {"reason": "address types"}, format="json"
        )
        assert response.status_code == 200, response.json()
    for order in orders.values():
        settle(currency, order["id"], "refunded")
    return {
        kind: Payout.objects.get(owner_kind="order", owner_id=order["id"])
        for kind, order in orders.items()
    }


def test_a_bitcoin_deposit_address_is_native_segwit(buyer, vendor):
    order = create(buyer, vendor, "BTC")

    assert order["deposit_address"].startswith("rb1q")
    assert order["payment_uri"].startswith(f"bitcoin:{order['deposit_address']}?")
    check = validate_address(chain="bitcoin", address=order["deposit_address"])
    assert (check.valid, check.type) == (True, "p2wpkh")


def test_the_bitcoin_house_account_receives_and_pays_as_native_segwit(wallets):
    house = WalletAccount.objects.get(chain="bitcoin", purpose=AccountPurpose.LIQUIDITY)
    assert house.address.startswith("rb1q")
    btc = get_bitcoin_client()
    assert btc.account_detail("default")["witness"] is True
    # Its coins, the coinbase outputs the regtest stack mined to it, pay P2WPKH scripts.
    coins = btc._wallet("GET", "/coin", params={"account": "default"}, method="coins")
    assert coins
    assert {bytes.fromhex(c["script"])[:2] for c in coins} == {b"\x00\x14"}


def test_each_payable_address_type_is_paid_with_its_own_output_script(buyer, vendor, celery_worker):
    wanted = scripts()
    payouts = refunded_to(
        buyer, vendor, "BTC", {kind: out.address(BCOIN_REGTEST) for kind, out in wanted.items()}
    )

    node = get_bitcoin_client()
    for kind, out in wanted.items():
        payout = payouts[kind]
        paid = [node.coin(payout.txid, index) for index in range(2)]
        scripts_paid = {c["script"]: c["value"] for c in paid if c}
        assert scripts_paid.get(out.data.hex()) == payout.sent_amount, (kind, paid)


@pytest.mark.parametrize("kind", ["p2tr"])
def test_an_address_type_the_node_cannot_pay_is_refused_where_it_is_typed(buyer, vendor, kind):
    key = ec.PrivateKey(os.urandom(32)).get_public_key()
    taproot = script.p2tr(key).address(BCOIN_REGTEST)

    response = buyer.api.post(
        "/api/orders",
        {
            "currency": "BTC",
            "amount": "5000000",
            "vendor": vendor.user.username,
            "refund_address": taproot,
        },
        format="json",
    )

    assert response.status_code == 400
    assert "taproot" in str(response.json()["refund_address"])


def test_each_monero_address_type_is_paid_to_the_account_it_names(buyer, vendor, celery_worker):
    customer = get_customer_monero_client()
    standard = customer.primary_address(0)
    subaddress = receiver("monero")
    payment_id = os.urandom(8).hex()
    integrated = customer.wallet(
        "make_integrated_address", {"standard_address": standard, "payment_id": payment_id}
    )["integrated_address"]
    addresses = {"standard": standard, "subaddress": subaddress.address, "integrated": integrated}
    for kind, address in addresses.items():
        assert validate_address(chain="monero", address=address).type == kind
    payouts = refunded_to(buyer, vendor, "XMR", addresses)

    customer.refresh()
    accounts = {"standard": 0, "subaddress": subaddress.account, "integrated": 0}
    seen = {}
    for kind, payout in payouts.items():
        found = customer.transfer_by_txid(payout.txid, account_index=accounts[kind])
        assert found is not None, kind
        transfer = found["transfer"]
        assert transfer["amount"] == payout.sent_amount, kind
        seen[kind] = (transfer["subaddr_index"]["major"], transfer["payment_id"])
    assert seen["standard"][0] == 0
    assert seen["subaddress"][0] == subaddress.account
    assert seen["integrated"] == (0, payment_id)
