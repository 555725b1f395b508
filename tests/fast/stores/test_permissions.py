"""Greenfield permission strings: parsed as BTCPay parses them, and each policy includes
what BTCPay's policy definitions say it does."""

from __future__ import annotations

import pytest

from stores import permissions as p
from stores.permissions import Permission, grants, included, parse


def test_modifying_invoices_includes_viewing_and_creating_them():
    assert included(p.CAN_MODIFY_INVOICES) == {
        p.CAN_MODIFY_INVOICES,
        p.CAN_VIEW_INVOICES,
        p.CAN_CREATE_INVOICE,
    }


def test_modifying_store_settings_includes_every_policy_offered():
    assert included(p.CAN_MODIFY_STORE_SETTINGS) == set(p.POLICIES)


def test_viewing_store_settings_includes_viewing_invoices_and_nothing_that_writes():
    assert included(p.CAN_VIEW_STORE_SETTINGS) == {p.CAN_VIEW_STORE_SETTINGS, p.CAN_VIEW_INVOICES}


@pytest.mark.parametrize(
    "policy", [p.CAN_VIEW_INVOICES, p.CAN_CREATE_INVOICE, p.CAN_MODIFY_WEBHOOKS]
)
def test_the_leaf_policies_include_only_themselves(policy):
    assert included(policy) == {policy}


def test_the_pull_payment_policy_is_included_only_by_the_store_settings_one():
    holders = {
        policy
        for policy in p.POLICIES
        if p.CAN_CREATE_NON_APPROVED_PULL_PAYMENTS in included(policy)
    }
    assert holders == {p.CAN_CREATE_NON_APPROVED_PULL_PAYMENTS, p.CAN_MODIFY_STORE_SETTINGS}


def test_every_included_policy_is_one_offered():
    for policy in p.POLICIES:
        assert included(policy) <= set(p.POLICIES)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("btcpay.store.canviewinvoices", Permission(p.CAN_VIEW_INVOICES, None)),
        ("btcpay.store.canviewinvoices:AbC123", Permission(p.CAN_VIEW_INVOICES, "AbC123")),
        ("  BTCPAY.Store.CanViewInvoices:AbC ", Permission(p.CAN_VIEW_INVOICES, "AbC")),
        ("btcpay.store.webhooks.canmodifywebhooks", Permission(p.CAN_MODIFY_WEBHOOKS, None)),
        ("btcpay.store.canviewinvoices:", None),
        ("btcpay..canviewinvoices", None),
        ("canviewinvoices", None),
        ("", None),
        (None, None),
        (["btcpay.store.canviewinvoices"], None),
    ],
)
def test_permissions_parse_as_btcpay_parses_them(text, parsed):
    assert parse(text) == parsed


def test_a_parsed_permission_prints_as_it_was_given():
    assert str(parse("btcpay.store.canviewinvoices:AbC")) == "btcpay.store.canviewinvoices:AbC"
    assert str(parse("btcpay.store.canviewinvoices")) == "btcpay.store.canviewinvoices"


def test_a_scoped_permission_grants_its_store_only():
    held = Permission(p.CAN_MODIFY_INVOICES, "A")
    assert grants(held, p.CAN_VIEW_INVOICES, "A")
    assert not grants(held, p.CAN_VIEW_INVOICES, "B")
    assert grants(held, p.CAN_VIEW_INVOICES, None)  # "on some store": A
    assert not grants(held, p.CAN_VIEW_STORE_SETTINGS, "A")


def test_an_unscoped_permission_grants_every_store():
    held = Permission(p.CAN_VIEW_STORE_SETTINGS, None)
    assert grants(held, p.CAN_VIEW_INVOICES, "A")
    assert grants(held, p.CAN_VIEW_INVOICES, "B")
    assert not grants(held, p.CAN_CREATE_INVOICE, "A")
