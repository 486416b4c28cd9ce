"""Accruals: what each station earned per tariff component and period, from final runs.

The source is the ledger, not a recomputation: for every period with a final run, the
effective final (the last one, superseding any before it) and the ``components-PERIOD.csv``
recorded with it (in run_files, covered by the run's hash and the chain). Those are the
amounts the county published and a later audit can check; tariff x energy computed again
today could differ from them (a corrected statement, a changed config). A period with no
final run accrues nothing yet: finalize it (`pvledger revenue --period P --final`) first.

When a month and the quarter containing it both have final runs, the later-recorded run
wins for the months it covers and the other is named in a warning (counting both would
accrue the months twice).

``accruals_from_ledger(config, ledger) -> (list[Accrual], warnings)``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from core.config import Config
from core.config.model import Station
from revenue.ledger import Ledger, RunRecord
from revenue.period import parse_period
from revenue.receivables import Accrual, Cycle


def catalogue_status(station: Station | None, subsidy: bool, start: dt.date, end: dt.date) -> str:
    """A subsidy component's catalogue status in [start, end): in, not in, not yet (from
    DATE), or from DATE (entered the catalogue during it); empty for other components."""
    if not subsidy:
        return ""
    if station is None:
        return "unknown station"
    if not station.subsidy_catalogue:
        return "not in"
    since = station.catalogue_from
    if since is None or since <= start:
        return "in"
    return f"not yet (from {since})" if since >= end else f"from {since}"


def effective_finals(ledger: Ledger) -> tuple[list[RunRecord], list[str]]:
    """The effective final run of each period, overlapping periods resolved (module doc)."""
    last: dict[str, RunRecord] = {}
    for r in ledger.runs():
        if r.status == "final":
            last[r.period] = r
    kept: list[RunRecord] = []
    claimed: dict[str, RunRecord] = {}  # month -> run
    warnings = []
    for r in sorted(last.values(), key=lambda r: -r.seq):
        months = parse_period(r.period).month_ids
        clash = sorted({claimed[m].period for m in months if m in claimed})
        if clash:
            warnings.append(
                f"final run {r.seq} ({r.period}) overlaps the later final run(s) of "
                f"{', '.join(clash)}: its accruals are left out"
            )
            continue
        claimed.update(dict.fromkeys(months, r))
        kept.append(r)
    return sorted(kept, key=lambda r: r.seq), warnings


def accruals_from_ledger(config: Config, ledger: Ledger) -> tuple[list[Accrual], list[str]]:
    """Every (station, component, period) accrual of the effective final runs."""
    subsidy = {(t.id, c.name): c.subsidy for t in config.tariffs for c in t.components}
    runs, warnings = effective_finals(ledger)
    out = []
    for r in runs:
        files = ledger.files(r.seq)
        villages = {
            row["station_id"]: row["village_id"]
            for row in _csv(files.get(f"stations-{r.period}.csv", b""))
        }
        period = parse_period(r.period)
        last_month = period.month_ids[-1]
        for row in _csv(files.get(f"components-{r.period}.csv", b"")):
            st = row["station_id"]
            station = config.station_by_id.get(st)
            out.append(
                Accrual(
                    station=st,
                    village=villages.get(st) or (station.village if station else ""),
                    component=row["component"],
                    payer=row.get("payer", ""),
                    period=r.period,
                    last_month=last_month,
                    accrued_fen=int(row["amount_fen"]),
                    catalogue=catalogue_status(
                        station,
                        subsidy.get((row.get("tariff_id", ""), row["component"]), False),
                        period.start,
                        period.end,
                    ),
                )
            )
    return out, warnings


def _csv(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def cycles(config: Config) -> dict[str, Cycle]:
    """Each tariff component's settlement cycle (core/config/receivables.py rules)."""
    out: dict[str, Cycle] = {}
    for t in config.tariffs:
        for c in t.components:
            rule = config.receivables.rule_for(c.name, c.cycle)
            out.setdefault(c.name, Cycle(rule.cycle, rule.due_months))
    return out
