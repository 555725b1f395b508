from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from exchange.errors import ApplicationError
from wallets.models import Payout, PayoutHold, PayoutState

# A refusal's field, as this command's option.
FLAGS = {"txid": "--sent-as", "sent_as": "--sent-as", "reason": "--reason", "address": "--address"}


class Command(BaseCommand):
    help = (
        "Put a failed payout back to work (stored transactions are relayed again, never"
        " rebuilt), or release one a restore held, or record one a restore held as the"
        " transaction its account sent after the backup (--sent-as)."
    )

    def add_arguments(self, parser):
        parser.add_argument("payout_id", type=int)
        parser.add_argument("--reason", required=True, help="why (recorded in the audit trail)")
        parser.add_argument("--staff", required=True, help="the staff username taking the action")
        parser.add_argument("--address", help="a new address (only for a payout never built)")
        parser.add_argument(
            "--sent-as",
            metavar="TXID",
            help="a payout a restore held: it is this transaction, which its account sent"
            " after the backup (checked against the node; nothing is sent again)",
        )
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--json", action="store_true")

    def handle(
        self,
        *args,
        payout_id: int,
        reason: str,
        staff: str,
        address: str | None,
        sent_as: str | None,
        dry_run: bool,
        **options,
    ):
        from funding.models import funded_models
        from funding.services import retry_payout

        payout = Payout.objects.filter(id=payout_id).first()
        if payout is None:
            raise CommandError(f"payout {payout_id}: no such payout")
        actor = get_user_model().objects.filter(username=staff, is_staff=True).first()
        if actor is None:
            raise CommandError(f"--staff: {staff!r} is not a staff user")
        held = payout.state == PayoutState.HELD and payout.hold_kind == PayoutHold.RESTORE
        if payout.state != PayoutState.FAILED and not held:
            raise CommandError(
                f"payout {payout_id} is {payout.state}, not failed or held by a restore:"
                " nothing to retry"
            )
        if payout.owner_kind not in funded_models():
            raise CommandError(
                f"payout {payout_id} belongs to the {payout.owner_kind}: not retried here"
            )
        if not dry_run:
            try:
                payout = retry_payout(
                    payout_id=payout.id,
                    actor=actor,
                    reason=reason,
                    address=address,
                    sent_as=sent_as,
                )
            except ApplicationError as exc:
                flag = FLAGS.get(getattr(exc, "field", None) or "")
                raise CommandError(f"{flag or f'payout {payout_id}'}: {exc.message}") from exc
        result = {"payout": payout.id, "state": payout.state, "dry_run": dry_run}
        self.stdout.write(
            json.dumps(result) if options["json"] else f"payout {payout.id}: {payout.state}"
        )
