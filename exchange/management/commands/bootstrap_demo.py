from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from exchange.models import ApiToken, ApiTokenScope
from exchange.services import api_token_create

DEMO_TOKEN_NAME = "demo (bootstrap_demo)"  # noqa: S105 - a label, not a secret
DEMO_USERS = (
    ("staff", {"is_staff": True, "is_superuser": True}),
    # A second staff member, to approve what ``staff`` asks for (staff.roles).
    ("approver", {"is_staff": True}),
    ("buyer", {}),
    ("vendor", {}),
)
DEMO_ROLES = {"approver": ("support", "approver")}


class Command(BaseCommand):
    help = (
        "Create the demo users (staff, approver, buyer, vendor) and print a new API token for each."
    )

    def handle(self, *args, **options):
        if not _all_regtest():
            raise CommandError(
                "bootstrap_demo makes a staff user with a shared password: it runs only when"
                " every coin's *_NETWORK is regtest"
            )
        # .env is loaded into the environment with the settings (exchange.config.env).
        password = os.environ.get("DEMO_PASSWORD", "")
        if not password:
            raise CommandError("DEMO_PASSWORD is not set (scripts/setup.sh writes one into .env)")
        User = get_user_model()
        for username, flags in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username, defaults=flags)
            if created:
                user.set_password(password)
                user.save()
                for role in DEMO_ROLES.get(username, ()):
                    user.groups.add(Group.objects.get(name=role))
            # Only a digest is kept, so each run makes (and prints) a new token; the one
            # the last run made is revoked, so runs never pile up to API_TOKENS_PER_USER.
            ApiToken.objects.filter(user=user, name=DEMO_TOKEN_NAME).delete()
            _, secret = api_token_create(user=user, name=DEMO_TOKEN_NAME, scope=ApiTokenScope.WRITE)
            self.stdout.write(f"  {username:8} token {secret}")
        self.stdout.write(
            f"  password for all of them: {password}  (admin: 'staff', approvals: 'approver')"
        )
        self._vendor_profile(User.objects.get(username="vendor"))

    def _vendor_profile(self, vendor) -> None:
        """On regtest the demo vendor is paid into accounts of the customer wallet."""

        from devtools.regtest import regtest_customer_address
        from orders.selectors import vendor_payout_address
        from orders.services.vendors import vendor_payout_address_set
        from wallets.chains import COINS

        if not _all_regtest():
            return
        for coin in COINS:
            if not vendor_payout_address(vendor_id=vendor.pk, currency=coin.code):
                vendor_payout_address_set(
                    user=vendor,
                    currency=coin.code,
                    address=regtest_customer_address(chain=coin.chain, name="demo-vendor"),
                )
        self.stdout.write(
            "  vendor payout addresses: accounts 'demo-vendor' of the customer wallets"
        )


def _all_regtest() -> bool:
    from wallets.chains import COINS

    return all(coin.network == "regtest" for coin in COINS)
