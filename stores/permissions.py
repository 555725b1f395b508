"""Greenfield permission strings: what an API key may do, and on which stores.

A permission is a policy (``btcpay.store.canviewinvoices``), alone or scoped to one store
(``btcpay.store.canviewinvoices:{storeId}``). Alone it applies to every store of the key's
owner. A policy includes others, as BTCPay Server defines them (its ``PolicyDefinition``
list in ``BTCPayServer/Hosting/BTCPayServerServices.cs``): modifying invoices includes
viewing and creating them, modifying a store's settings includes everything else here.
Nothing in this module reads the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CAN_VIEW_INVOICES = "btcpay.store.canviewinvoices"
CAN_CREATE_INVOICE = "btcpay.store.cancreateinvoice"
CAN_MODIFY_INVOICES = "btcpay.store.canmodifyinvoices"
CAN_VIEW_STORE_SETTINGS = "btcpay.store.canviewstoresettings"
CAN_MODIFY_STORE_SETTINGS = "btcpay.store.canmodifystoresettings"
CAN_MODIFY_WEBHOOKS = "btcpay.store.webhooks.canmodifywebhooks"
CAN_CREATE_NON_APPROVED_PULL_PAYMENTS = "btcpay.store.cancreatenonapprovedpullpayments"

# The policies a key may hold here, with what each means to a merchant (the key page).
POLICIES: dict[str, str] = {
    CAN_VIEW_INVOICES: "View invoices",
    CAN_CREATE_INVOICE: "Create invoices",
    CAN_MODIFY_INVOICES: "Modify invoices (includes viewing and creating them)",
    CAN_VIEW_STORE_SETTINGS: "View the store's settings (includes viewing invoices)",
    CAN_MODIFY_STORE_SETTINGS: "Modify the store's settings (includes all of these)",
    CAN_MODIFY_WEBHOOKS: "Modify the store's webhooks",
    CAN_CREATE_NON_APPROVED_PULL_PAYMENTS: "Create refunds that wait for approval",
}

# What each policy includes directly, as BTCPay has it, reduced to the policies above.
# BTCPay's canmodifystoresettings includes canmanagepullpayments, which includes
# cancreatepullpayments, which includes cancreatenonapprovedpullpayments: that chain of
# policies this engine does not offer is kept as the one edge it implies.
INCLUDES: dict[str, frozenset[str]] = {
    CAN_MODIFY_STORE_SETTINGS: frozenset(
        {
            CAN_MODIFY_INVOICES,
            CAN_VIEW_STORE_SETTINGS,
            CAN_MODIFY_WEBHOOKS,
            CAN_CREATE_NON_APPROVED_PULL_PAYMENTS,
        }
    ),
    CAN_MODIFY_INVOICES: frozenset({CAN_VIEW_INVOICES, CAN_CREATE_INVOICE}),
    CAN_VIEW_STORE_SETTINGS: frozenset({CAN_VIEW_INVOICES}),
}

# BTCPay's rule for a policy's spelling (Permission.IsValidPolicy).
_POLICY = re.compile(r"^btcpay\.([a-z0-9]+\.)*[a-z0-9]+$")


def included(policy: str) -> frozenset[str]:
    """``policy`` and every policy it includes, through any number of steps."""
    seen = {policy}
    todo = [policy]
    while todo:
        for child in INCLUDES.get(todo.pop(), frozenset()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return frozenset(seen)


@dataclass(frozen=True)
class Permission:
    policy: str
    store_id: str | None  # None: every store of the key's owner

    def __str__(self) -> str:
        return self.policy if self.store_id is None else f"{self.policy}:{self.store_id}"


def parse(text: str) -> Permission | None:
    """``"btcpay.store.canviewinvoices:ABC"`` → ``Permission(policy, "ABC")``, as BTCPay
    parses it (the policy lower-cased, the store id as given); None if it is not a
    permission at all. Whether this engine offers the policy is ``POLICIES``' business."""
    if not isinstance(text, str):
        return None
    policy, colon, scope = text.strip().partition(":")
    policy = policy.lower()
    if not _POLICY.match(policy) or (colon and not scope):
        return None
    return Permission(policy, scope if colon else None)


def grants(held: Permission, policy: str, store_id: str | None) -> bool:
    """Does ``held`` allow ``policy`` on the store ``store_id``? ``store_id`` None asks
    whether it allows the policy on some store (a list of stores, filtered after)."""
    if policy not in included(held.policy):
        return False
    return held.store_id is None or store_id is None or held.store_id == store_id
