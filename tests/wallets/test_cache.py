import json

from django.core.management import call_command

from exchange.redis import get_redis
from tests.factories import assigned_account
from wallets.cache import account_read
from wallets.models import Chain


def _our_keys():
    return sorted(k for k in get_redis().keys("*") if k.startswith(("bitcoin:", "monero:")))


def _snapshot():
    r = get_redis()
    out = {}
    for key in _our_keys():
        kind = r.type(key)
        out[key] = (
            r.hgetall(key)
            if kind == "hash"
            else sorted(r.smembers(key))
            if kind == "set"
            else r.get(key)
        )
    return out


def test_allocation_writes_the_seed_keys(wallets, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        btc = assigned_account(Chain.BITCOIN, owner_kind="order")
        xmr = assigned_account(Chain.MONERO, owner_kind="order")
    r = get_redis()

    assert r.hget("bitcoin:order:account:map", str(btc.owner_id)) == str(btc.account_index)
    assert json.loads(r.get(f"bitcoin:order:account:{btc.owner_id}"))["address"] == btc.address
    assert r.hget("monero:order:account:map", str(xmr.owner_id)) == str(xmr.account_index)
    assert xmr.owner_tag in r.smembers("monero:tag:order")
    assert json.loads(r.get(f"monero:tag:{xmr.owner_tag}"))["account_index"] == xmr.account_index


def test_after_flushall_reads_fall_back_to_the_database_and_rebuild_restores_every_key(
    wallets, django_capture_on_commit_callbacks, capsys
):
    with django_capture_on_commit_callbacks(execute=True):
        accounts = [assigned_account(chain, owner_kind="order") for chain in Chain.values * 2]
    before = _snapshot()
    r = get_redis()
    r.flushdb()

    for account in accounts:
        meta = account_read(chain=account.chain, owner_kind="order", owner_id=account.owner_id)
        assert meta["address"] == account.address
    r.flushdb()
    call_command("rebuild_redis")
    call_command("rebuild_redis")  # idempotent

    assert _snapshot() == before
    assert "keys for" in capsys.readouterr().out
