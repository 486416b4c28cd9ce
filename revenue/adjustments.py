"""Adjustment lines: money a payout run pays on top of its own period's (shared contract).

A run for the current period also pays money that belongs elsewhere: a subsidy received
late for an old period (revenue/late_money.py), a bank line that failed or was never paid
in an earlier batch (the bank-batch engineer's revenue/carry_over.py). Each provider in
``PROVIDERS`` returns ``AdjustmentLine``s; ``collect()`` gathers them, sorted, with every
``(source, ref)`` an earlier final run already paid taken out, so nothing is paid twice.

The run records the keys it paid in its state (``STATE_KEY``, revenue/run.py); the
mandatory check ``adjustments_paid_once`` (revenue/checks.py) refuses a run holding a key
another effective final run paid, or a negative amount.

Labels come from ``SOURCES`` (data, not branches): each source's zh/en templates take
``period`` (the period the money belongs to, as written by ``period_label``), and the
fields its provider gives (``component``, ``received`` for a late receipt).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Config
    from revenue.ledger import Ledger
    from revenue.period import Period

#: where a run's state lists the adjustment keys it paid ("source/ref" strings)
STATE_KEY = "adjustments_paid"


@dataclass(frozen=True)
class AdjustmentLine:
    """Money paid by this run that belongs to another period or an earlier batch [fen]."""

    source: str  # a key of SOURCES
    ref: str  # unique per (source, ref): the never-pay-twice key
    payee_kind: str  # household | village | cooperative
    payee: str  # household id / village id / cooperative id
    village: str
    station: str  # the station the money comes from ("" if none)
    period_of: str  # the period the money belongs to: "2025", "2025Q3", "2025-03"
    amount_fen: int
    label_zh: str
    label_en: str
    #: why the line cannot be paid now ("" = payable), e.g. no bank account on file
    unpaid_reason: str = ""

    @property
    def key(self) -> str:
        """The never-pay-twice key: "source/ref"."""
        return f"{self.source}/{self.ref}"


#: source -> its label templates per language
SOURCES: dict[str, dict[str, str]] = {
    "late_receipt": {
        "zh": "{period}{component_zh} {received}到账",
        "en": "{period} {component_en} received {received}",
    },
    "carried_failed": {
        "zh": "{period} 退票重付",
        "en": "{period} payment returned, paid again",
    },
    "carried_unpaid": {
        "zh": "{period} 未付结转",
        "en": "{period} unpaid, carried over",
    },
}

#: tariff component names as the labels say them; others are shown by name
COMPONENT_LABELS: dict[str, dict[str, str]] = {
    "national_subsidy": {"zh": "补贴", "en": "subsidy"},
    "coal_benchmark": {"zh": "燃煤标杆电费", "en": "coal-benchmark income"},
}

#: payee kinds an adjustment line may name
PAYEE_KINDS = ("household", "village", "cooperative")

#: providers, by name (imported lazily): each ``adjustments(config, ledger, period) ->
#: list[AdjustmentLine]``
PROVIDERS: tuple[str, ...] = (
    "revenue.late_money:adjustments",
    "revenue.carry_over:adjustments",
)


def period_label(period_of: str, lang: str) -> str:
    """A period as labels write it: "2025年" / "2025" for a year, the id otherwise."""
    if len(period_of) == 4 and period_of.isdigit() and lang == "zh":
        return f"{period_of}年"
    return period_of


def labels(source: str, period_of: str, **fields: str) -> tuple[str, str]:
    """(label_zh, label_en) of a line from its source's templates (KeyError: unknown)."""
    templates = SOURCES[source]
    comp = fields.pop("component", "")
    names = COMPONENT_LABELS.get(comp, {"zh": comp, "en": comp})
    out = []
    for lang in ("zh", "en"):
        out.append(
            templates[lang].format(
                period=period_label(period_of, lang),
                component_zh=names["zh"],
                component_en=names["en"],
                **fields,
            )
        )
    return out[0], out[1]


def paid_keys(ledger: Ledger, *, except_period: str | None = None) -> dict[str, str]:
    """Adjustment key -> the period whose effective final run paid it.

    ``except_period``: leave that period's own final run out (a supersede recomputes what
    it pays).
    """
    out: dict[str, str] = {}
    periods = sorted({r.period for r in ledger.runs() if r.status == "final"})
    for p in periods:
        if p == except_period:
            continue
        run = ledger.effective_final(p)
        if run is None:
            continue
        for key in json.loads(run.state).get(STATE_KEY, []):
            out.setdefault(key, p)
    return out


def _provider(name: str):
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


def unpaid(lines: Iterable[AdjustmentLine], paid: Iterable[str]) -> tuple[AdjustmentLine, ...]:
    """The lines whose key is not in ``paid``, sorted (pure)."""
    done = set(paid)
    keep = [ln for ln in lines if ln.key not in done]
    return tuple(sorted(keep, key=lambda ln: (ln.source, ln.ref, ln.payee_kind, ln.payee)))


def collect(config: Config, ledger: Ledger, period: Period) -> tuple[AdjustmentLine, ...]:
    """Every provider's lines for a run of ``period``, sorted, without keys already paid."""
    lines: list[AdjustmentLine] = []
    for name in PROVIDERS:
        lines += _provider(name)(config, ledger, period)
    return unpaid(lines, paid_keys(ledger, except_period=period.id))
