"""What a check of the books finds: per chain, the accounts that differ and the findings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Finding:
    """``violation``: the books and the chain disagree (a test fails, reconcile exits 2).
    ``alert``: something staff must see that the books already account for (a credited
    deposit that vanished, an owner on hold)."""

    severity: str
    kind: str
    chain: str
    subject: str
    detail: str


@dataclass
class AccountLine:
    account_id: int
    account_index: int | None
    owner: str
    node: int
    recorded: int
    ledger: int
    cause: str


@dataclass
class ChainBooks:
    chain: str
    node_calls: int = 0
    accounts: int = 0
    node_total: int = 0
    recorded_total: int = 0
    spends: int = 0
    internal_spends: int = 0
    payouts_mapped: int = 0
    bumps_mapped: int = 0
    sent_on_node: int = 0
    fees_on_node: int = 0
    differences: list[AccountLine] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "violation"]

    @property
    def alerts(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "alert"]

    @property
    def clean(self) -> bool:
        return not self.findings

    @property
    def drift_total(self) -> int:
        return sum(abs(d.node - d.recorded) + abs(d.ledger - d.recorded) for d in self.differences)

    def add(self, severity: str, kind: str, subject: str, detail: str) -> None:
        self.findings.append(Finding(severity, kind, self.chain, str(subject), detail))

    def as_dict(self) -> dict:
        return {**asdict(self), "clean": self.clean, "drift_total": self.drift_total}
