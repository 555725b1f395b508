"""Reconcile against the real nodes: clean books pass, an out-of-band spend is caught."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from operations.models import ReconcileRun
from orders.models import EscrowOrder, OrderState
from tests.chain import drive
from tests.flows import create, pay_and_escrow, state_of
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.services import deposits_scan


def _run(capsys, *args) -> tuple[int, str]:
    try:
        call_command("reconcile", *args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().out


def test_clean_books_pass_and_an_out_of_band_spend_is_reported(
    buyer, vendor, celery_worker, capsys
):
    order = create(buyer, vendor, "BTC")
    pay_and_escrow(order, "BTC")
    deposits_scan(chain="bitcoin")

    account = EscrowOrder.objects.get(id=order["id"]).account
    code, out = _run(capsys, "--chain", "bitcoin", "--json", "--store")
    (report,) = json.loads(out)
    # Other tests leave out-of-band spends of their own on purpose: this order's account
    # is clean, and so is everything else unless one of those was found.
    assert not [d for d in report["differences"] if d["account_id"] == account.id]
    assert not [f for f in report["findings"] if f["subject"] == f"account {account.id}"]
    assert code == (0 if report["clean"] else 2)

    btc = get_bitcoin_client()
    tx = btc.create_tx(
        account=account.node_name, outputs=[(btc.new_address(), 1_000_000)], subtract_fee=True
    )
    btc.broadcast(tx["hex"])
    drive("bitcoin", lambda: btc.wallet_tx(tx["txid"]), what="the out-of-band spend in the wallet")

    code, out = _run(capsys, "--chain", "bitcoin", "--json", "--store")
    assert code == 2
    (report,) = json.loads(out)
    (difference,) = [d for d in report["differences"] if d["account_id"] == account.id]
    assert difference["cause"].startswith("out-of-band spend")
    assert difference["recorded"] - difference["node"] == 1_000_000
    assert ReconcileRun.objects.filter(chain="bitcoin").latest("finished_at").drift_accounts >= 1
    assert state_of(order["id"]) == OrderState.ESCROWED


def test_a_scan_costs_constant_node_calls_for_reconcile(wallets, capsys):
    code, out = _run(capsys, "--chain", "monero", "--json")
    (report,) = json.loads(out)
    # refresh, get_transfers (what it sent) and get_balance, whatever the account count
    assert report["node_calls"] == 3
    assert code in (0, 2)


@pytest.mark.parametrize("chain", ["bitcoin", "monero"])
def test_reconcile_refuses_an_unknown_chain_in_one_line(chain):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("reconcile", "--chain", "dogecoin")
