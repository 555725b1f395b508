"""The push path: a payment shows up as a deposit row with no scan called by the test;
and the listener's INFO log carries what it does, not its socket library's chatter (a
ping every few seconds, the packets, the API key it authenticates with)."""

import json

import pytest
from django.conf import settings

from devtools.processes import PYTHON, wait_until
from devtools.regtest import regtest_mine, regtest_pay
from tests.factories import assigned_account
from tests.processes import launcher
from wallets.models import Chain, Deposit


@pytest.fixture
def listener(wallets, celery_worker):
    # At INFO, as operators run it (the slot's processes log warnings only).
    proc = launcher.start("listener", [PYTHON, "manage.py", "chain_listener"], LOG_LEVEL="INFO")
    yield proc
    proc.stop()


@pytest.mark.parametrize("chain", Chain.values)
def test_node_events_record_the_deposit_and_its_confirmation(listener, chain):
    account = assigned_account(chain)
    amount = 1_500_000 if chain == Chain.BITCOIN else 5_000_000_000

    regtest_pay(chain=chain, address=account.address, amount=amount)

    wait_until(
        lambda: Deposit.objects.filter(account=account, amount=amount).exists(),
        timeout=20,
        what=f"the listener to record the mempool deposit\n{listener.log_tail()}",
    )
    regtest_mine(chain=chain, blocks=1)
    wait_until(
        lambda: Deposit.objects.filter(account=account, confirmations=1).exists(),
        timeout=20,
        what=f"the listener to record the confirmation\n{listener.log_tail()}",
    )
    log = listener.log_text()
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(r["event"].startswith("scan of") for r in records)
    chatter = [
        r
        for r in records
        if r.get("logger", "").split(".")[0] in ("engineio", "socketio")
        and r.get("level") in ("debug", "info")
    ]
    assert chatter == []
    assert settings.BITCOIN["api_key"] not in log
