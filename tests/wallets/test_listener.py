"""The push path: a payment shows up as a deposit row with no scan called by the test."""

import pytest

from devtools.processes import PYTHON, wait_until
from devtools.regtest import regtest_mine, regtest_pay
from tests.factories import assigned_account
from tests.processes import launcher
from wallets.models import Chain, Deposit


@pytest.fixture
def listener(wallets, celery_worker):
    proc = launcher.start("listener", [PYTHON, "manage.py", "chain_listener"])
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
