from __future__ import annotations

import json
from typing import TypedDict, Unpack, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from devtools.regtest import (
    regtest_customer_address,
    regtest_down,
    regtest_mine,
    regtest_pay,
    regtest_status,
    regtest_up,
)
from devtools.regtest_nodes import RegtestError
from wallets.clients.base import NodeError

CHAINS = ("bitcoin", "monero")


class Options(TypedDict, total=False):
    """What the subcommands' arguments give ``handle``, each only its own (Django's own
    options come too, unread here)."""

    json: bool
    blocks: int
    chain: str
    address: str | None  # mine: --address, or None; pay: the positional address
    amount: str
    name: str


class Command(BaseCommand):
    help = "Start, stop and drive the regtest stack (bcoin, monerod, master and customer wallets)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("up", help="start what is not running, create wallets, fund them")
        sub.add_parser("down", help="stop the processes this stack started")
        status = sub.add_parser("status", help="processes and chain heights")
        status.add_argument("--json", action="store_true")
        mine = sub.add_parser("mine", help="mine blocks (to the master wallet by default)")
        mine.add_argument("blocks", type=int)
        mine.add_argument("--chain", choices=CHAINS, required=True)
        mine.add_argument("--address", default=None)
        pay = sub.add_parser("pay", help="pay from the customer wallet")
        pay.add_argument("address")
        pay.add_argument("amount", help="amount in base units (satoshi or piconero)")
        pay.add_argument("--chain", choices=CHAINS, required=True)
        address = sub.add_parser("address", help="an address of a customer wallet account")
        address.add_argument("--chain", choices=CHAINS, required=True)
        address.add_argument("--name", default="demo", help="the account (created on first use)")

    def handle(self, *args: str, action: str, **opts: Unpack[Options]) -> None:
        try:
            if action == "up":
                regtest_up(echo=self.stdout.write)
                self.stdout.write("regtest stack is up")
            elif action == "down":
                regtest_down(echo=self.stdout.write)
            elif action == "status":
                self._status(opts["json"])
            elif action == "mine":
                if opts["blocks"] <= 0:
                    raise CommandError("blocks: must be a positive number")
                height = regtest_mine(
                    chain=opts["chain"], blocks=opts["blocks"], address=opts["address"]
                )
                self.stdout.write(f"{opts['chain']} height {height}")
            elif action == "pay":
                amount = opts["amount"]
                if not amount.isdigit() or int(amount) <= 0:
                    raise CommandError("amount: a positive whole number of base units is required")
                # pay's address is a required positional argument: argparse gives a str.
                address = cast(str, opts["address"])
                txid = regtest_pay(chain=opts["chain"], address=address, amount=int(amount))
                self.stdout.write(txid)
            elif action == "address":
                self.stdout.write(regtest_customer_address(chain=opts["chain"], name=opts["name"]))
        except (RegtestError, NodeError) as exc:
            raise CommandError(str(exc)) from exc

    def _status(self, as_json: bool) -> None:
        status = regtest_status()
        if as_json:
            self.stdout.write(json.dumps(status, indent=2))
            return
        for name, proc in status["processes"].items():
            state = f"pid {proc['pid']}" if proc["running"] else "stopped"
            self.stdout.write(f"{name:28} port {proc['port']:<6} {state}")
        for chain in CHAINS:
            info = status[chain]
            self.stdout.write(
                f"{chain:28} height {info['height']}"
                if info["reachable"]
                else f"{chain:28} unreachable"
            )
