"""Revenue-side findings for the revenue alert kinds (issue 16 item 4), as plain data.

``alerts`` must not import ``revenue`` (docs/architecture.md), so the alert kinds
(alerts/kinds/meter_mismatch.py, statement_missing.py, receivable_overdue.py,
idle_funds.py) get their findings from here through a name that pvledger wires
(pvledger/commands/alerts.py ``REVENUE_FINDINGS``). ``findings(config, store, as_of,
settings)`` reads the store and data/revenue.db once and returns ``RevenueFinding``s; each
check is a pure function over what was read, with its thresholds from ``settings`` (kind
-> the rule's fields, as its alert kind validated them):

- ``meter_mismatch``: a station's inverter kWh differs from its export meter's by more
  than ``tolerance_percent`` in one of the last ``months`` whole months;
- ``statement_missing``: no grid statement (meter_statements) for a month ``after_days``
  after it ended, within the last ``months`` months and from the station's first
  statement on (by default only stations that have had a statement imported: the others
  settle without one);
- ``receivable_overdue``: money accrued by a final run still outstanding more than
  ``days[component]`` (else ``default_days``) past its due date (revenue/receivables.py);
- ``idle_funds``: a village's undistributed jobs-pool balance (carried by its final runs)
  above ``above_yuan`` for more than ``days`` days.

A finding's ``since_ms`` is when it passed its threshold (local midnight), so its alert
fires at once: the time it needed to hold is in the threshold itself.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.config import Config
from core.localday import local_midnight_ms
from core.store.base import Store
from revenue.money import yuan_to_fen
from revenue.period import Period, parse_period
from revenue.receivables import ReceivableLine

KINDS = ("meter_mismatch", "statement_missing", "receivable_overdue", "idle_funds")


@dataclass(frozen=True)
class RevenueFinding:
    """One revenue condition past its threshold, for the alert kind of the same name."""

    kind: str
    subject: str
    since: dt.date  # the local day it passed its threshold
    station: str | None = None
    village: str | None = None
    seen: dict[str, Any] = field(default_factory=dict)


def months_before(as_of: dt.date, n: int) -> list[Period]:
    """The last n whole months ending on or before as_of, oldest first."""
    out, p = [], parse_period(f"{as_of.year}-{as_of.month:02d}").previous()
    for _ in range(n):
        out.append(p)
        p = p.previous()
    return out[::-1]


def meter_mismatch(
    pairs: Iterable[tuple[str, str, Period, int | None, int | None]], tolerance_percent: Decimal
) -> list[RevenueFinding]:
    """(station, village, month, meter_wh, inverter_wh) outside ±tolerance (pure)."""
    out = []
    for station, village, month, meter, inv in pairs:
        if not meter or inv is None:
            continue  # without both counters there is nothing to compare
        pct = (Decimal(inv) - meter) * 100 / meter
        if abs(pct) > tolerance_percent:
            out.append(
                RevenueFinding(
                    "meter_mismatch",
                    f"{station}/{month.id}",
                    month.end,
                    station,
                    village,
                    {
                        "month": month.id,
                        "meter_wh": meter,
                        "inverter_wh": inv,
                        "percent": f"{pct:.1f}",
                        "tolerance_percent": str(tolerance_percent),
                    },
                )
            )
    return out


def statement_missing(
    stations: Iterable[tuple[str, str]],
    have: set[tuple[str, str]],
    months: list[Period],
    as_of: dt.date,
    after_days: int,
) -> list[RevenueFinding]:
    """Per (station, village): the months without a statement ``after_days`` after (pure).

    A station with statements is looked at from its first statement's month on (the
    months before it were settled before statements were imported).
    """
    first: dict[str, str] = {}
    for s, m in have:
        first[s] = min(first.get(s, m), m)
    out = []
    for station, village in stations:
        late = [
            m
            for m in months
            if (station, m.id) not in have
            and m.end + dt.timedelta(days=after_days) <= as_of
            and m.id >= first.get(station, "")
        ]
        if late:
            out.append(
                RevenueFinding(
                    "statement_missing",
                    station,
                    late[0].end + dt.timedelta(days=after_days),
                    station,
                    village,
                    {"months": [m.id for m in late], "after_days": after_days},
                )
            )
    return out


def receivable_overdue(
    lines: Iterable[ReceivableLine], days: Mapping[str, int], default_days: int | None
) -> list[RevenueFinding]:
    """Per (station, component): what is outstanding longer than its days past due (pure).

    ``days``: per component; ``default_days`` for the others (None: those never alert).
    """
    groups: dict[tuple[str, str], list[ReceivableLine]] = {}
    for ln in lines:
        limit = days.get(ln.component, default_days)
        if limit is None:
            continue
        if ln.outstanding_fen > 0 and ln.due is not None and ln.days_past_due > limit:
            groups.setdefault((ln.station, ln.component), []).append(ln)
    out = []
    for (station, comp), ls in sorted(groups.items()):
        limit = days.get(comp, default_days) or 0
        oldest = min(ls, key=lambda x: x.due)  # type: ignore[arg-type,return-value]
        out.append(
            RevenueFinding(
                "receivable_overdue",
                f"{station}/{comp}",
                oldest.due + dt.timedelta(days=limit + 1),  # type: ignore[operator]
                station,
                ls[0].village or None,
                {
                    "component": comp,
                    "periods": [x.period for x in ls],
                    "outstanding_fen": sum(x.outstanding_fen for x in ls),
                    "days_past_due": max(x.days_past_due for x in ls),
                    "limit_days": limit,
                },
            )
        )
    return out


def idle_funds(
    balances: list[tuple[dt.date, Mapping[str, int]]],
    as_of: dt.date,
    above_fen: int,
    days: int,
) -> list[RevenueFinding]:
    """Villages whose balance stayed above ``above_fen`` for more than ``days`` (pure).

    ``balances``: (the day a final run's period ended, village -> balance it carries [fen]),
    in period order; a balance holds from that day until the next one.
    """
    since: dict[str, dt.date] = {}
    last: dict[str, int] = {}
    for day, by_village in sorted(balances, key=lambda b: b[0]):
        if day > as_of:
            break
        for v in set(by_village) | set(since):
            fen = by_village.get(v, 0)
            last[v] = fen
            if fen > above_fen:
                since.setdefault(v, day)
            else:
                since.pop(v, None)
    out = []
    for v in sorted(since):
        start = since[v]
        if (as_of - start).days > days:
            out.append(
                RevenueFinding(
                    "idle_funds",
                    v,
                    start + dt.timedelta(days=days + 1),
                    None,
                    v,
                    {
                        "balance_fen": last[v],
                        "above_fen": above_fen,
                        "since": start.isoformat(),
                        "days": (as_of - start).days,
                    },
                )
            )
    return out


# -- reading what the checks need ------------------------------------------------------------
def _mismatch_pairs(config: Config, store: Store | None, months: list[Period], scope) -> list:
    from revenue.energy import EnergyReader

    if store is None:
        return []
    tz = config.site.tz
    both = [
        s
        for s in sorted(config.stations, key=lambda s: s.id)
        if scope(s.id)
        and any(d.role == "meter" for d in s.devices)
        and any(d.role != "meter" for d in s.devices)
    ]
    out = []
    for m in months:
        lo, hi = m.start_ms(tz), m.end_ms(tz)
        reader = EnergyReader(config, store, lo, hi)
        for s in both:
            rec = reader.reconcile(s, lo, hi)
            out.append((s.id, s.village, m, rec["meter_wh"], rec["inverter_wh"]))
    return out


def _balances(config: Config, ledger) -> list[tuple[dt.date, dict[str, int]]]:
    from revenue.accruals import effective_finals

    runs, _ = effective_finals(ledger)
    out = []
    for r in runs:
        state = json.loads(r.state)
        out.append((parse_period(r.period).end, dict(state.get("jobs_balance_fen", {}))))
    return out


def _scope(rule: Mapping[str, Any]):
    stations = rule.get("stations")
    return (lambda s: True) if stations is None else (lambda s: s in stations)


def findings(
    config: Config, store: Store | None, as_of: dt.date, settings: Mapping[str, Mapping[str, Any]]
) -> list[RevenueFinding]:
    """Every revenue finding as of a local day, for the kinds in ``settings`` (see above)."""
    from revenue.ledger import Ledger
    from revenue.payout import ledger_path

    out: list[RevenueFinding] = []
    if "meter_mismatch" in settings:
        rule = settings["meter_mismatch"]
        pairs = _mismatch_pairs(config, store, months_before(as_of, rule["months"]), _scope(rule))
        out += meter_mismatch(pairs, Decimal(rule["tolerance_percent"]))
    path = ledger_path(config)
    ledger_kinds = set(settings) & {"statement_missing", "receivable_overdue", "idle_funds"}
    if not ledger_kinds or not path.exists():
        return out  # no revenue ledger yet: nothing imported, nothing finalized
    with Ledger(path) as ledger:
        if "statement_missing" in settings:
            rule = settings["statement_missing"]
            have = {
                (s, m) for s, m in ledger.db.execute("SELECT station, month FROM meter_statements")
            }
            known = {s for s, _ in have}
            scope = _scope(rule)
            stations = [
                (s.id, s.village)
                for s in sorted(config.stations, key=lambda s: s.id)
                if scope(s.id) and (s.id in known or not rule["only_stations_with_statements"])
            ]
            months = months_before(as_of, rule["months"])
            out += statement_missing(stations, have, months, as_of, rule["after_days"])
        if "receivable_overdue" in settings:
            from revenue.accruals import accruals_from_ledger, cycles
            from revenue.receipts import load_received
            from revenue.receivables import receivables

            rule = settings["receivable_overdue"]
            accruals, _ = accruals_from_ledger(config, ledger)
            lines = receivables(accruals, load_received(ledger), as_of, cycles(config))
            scope = _scope(rule)
            lines = [ln for ln in lines if scope(ln.station)]
            out += receivable_overdue(lines, rule["days"], rule["default_days"])
        if "idle_funds" in settings:
            rule = settings["idle_funds"]
            above = yuan_to_fen(Decimal(str(rule["above_yuan"])))
            out += idle_funds(_balances(config, ledger), as_of, above, rule["days"])
    return out


def since_ms(f: RevenueFinding, config: Config) -> int:
    """A finding's since as UTC ms (local midnight of its day)."""
    return local_midnight_ms(f.since, config.site.tz)
