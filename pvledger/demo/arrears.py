"""The demo's two years of money: grid statements, final runs and receipts, synthesised.

Backfilling two years of samples for 221 stations would take the demo far past its three
minutes, and the money side needs no samples: a payout run of a past month can be made
from that month's grid statements alone (the energy source statements rank first for
money, revenue/energy.py). So the 24 months before the payout month are synthesised at
the level the revenue ledger sees, and go through the same code paths as real data:

1. **Statements**: per month and station, capacity x the month's specific yield for Ji'an
   (``SPECIFIC_YIELD_KWH_PER_KWP``, a typical year) x that month's weather (0.85 to 1.12,
   seeded per month) x a fixed factor per station (0.92 to 1.04, seeded), imported like
   `pvledger import-meter` (revenue/meter_import.py).
2. **Final runs** of those months from the statements (no store): their component files
   are the accruals (revenue/accruals.py).
3. **Receipts** from those accruals, imported like `pvledger receipts import`: the coal
   part of each quarter in full from the grid company on the 20th of the month after the
   quarter (on time: it is due at that month's end); the subsidy of the first 12 months in
   one transfer from the finance bureau on the 10th of the payout month, so the demo's
   run pays it as late money (revenue/late_money.py); the second year's subsidy is still
   owed, and v-yangfang, outside the catalogue, accrues none.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from core.config import Config
from core.localday import local_date
from revenue.ledger import Ledger
from revenue.period import Period, parse_period

#: kWh per kWp per month, January first: a typical year at Ji'an, Jiangxi (27° N)
SPECIFIC_YIELD_KWH_PER_KWP = (62, 64, 78, 92, 108, 104, 142, 138, 116, 98, 80, 68)
HISTORY_MONTHS = 24
SUBSIDY_YEAR_MONTHS = 12


@dataclass(frozen=True)
class History:
    """What was synthesised: the months finalized and the receipts imported."""

    months: tuple[str, ...]
    statements: int
    coal_receipts: int
    subsidy_receipts: int
    subsidy_received_on: dt.date | None


@dataclass(frozen=True)
class Outstanding:
    """The receivables as of a day: the subsidy still owed and every bucket [fen]."""

    as_of: dt.date
    subsidy_fen: int
    subsidy_periods: int
    oldest_period: str
    oldest_days_past_due: int
    oldest_days_since: int
    by_bucket_fen: tuple[tuple[str, int], ...]


def history_months(period: str, n: int = HISTORY_MONTHS) -> list[Period]:
    """The n months before a payout month, oldest first."""
    out, p = [], parse_period(period)
    for _ in range(n):
        p = p.previous()
        out.append(p)
    return out[::-1]


def station_factors(config: Config, seed: int) -> dict[str, float]:
    """A fixed yield factor per station (shading, tilt, soiling), 0.92 to 1.04."""
    rng = random.Random(seed)
    return {s.id: rng.uniform(0.92, 1.04) for s in sorted(config.stations, key=lambda s: s.id)}


def statements_csv(config: Config, months: list[Period], seed: int) -> str:
    """The grid statements of the months: station_id,period,export_kwh (kWh, 3 decimals)."""
    factor = station_factors(config, seed)
    lines = ["station_id,period,export_kwh"]
    for m in months:
        # a sunnier or a duller month than the typical year, the same for every station
        weather = random.Random(f"{seed}/{m.id}").uniform(0.85, 1.12)
        y = SPECIFIC_YIELD_KWH_PER_KWP[m.start.month - 1] * weather
        for s in sorted(config.stations, key=lambda s: s.id):
            lines.append(f"{s.id},{m.id},{s.capacity_kw * y * factor[s.id]:.3f}")
    return "\n".join(lines) + "\n"


def _stamp(day: dt.date, config: Config) -> dt.datetime:
    """09:00 site-local on a day, as the UTC time a record is stamped with."""
    local = dt.datetime(day.year, day.month, day.day, 9, tzinfo=config.site.tz)
    return local.astimezone(dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def receipts_csv(
    config: Config, ledger: Ledger, months: list[Period], payout_period: Period, as_of: dt.date
) -> tuple[str, int, int, dt.date | None]:
    """Receipts from the accruals of the final runs (module docstring): (csv, coal, subsidy,
    the subsidy's date)."""
    from revenue.accruals import accruals_from_ledger

    accruals, _ = accruals_from_ledger(config, ledger)
    fen: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)  # (component, month) -> st
    for a in accruals:
        if a.accrued_fen > 0:
            by = fen[(a.component, a.period)]
            by[a.station] = by.get(a.station, 0) + a.accrued_fen
    ids = [m.id for m in months]
    rows = ["received_on,payer,station_id,component,period,amount_fen,reference"]
    quarters: dict[tuple[int, int], list[Period]] = defaultdict(list)
    for m in months:
        quarters[(m.start.year, (m.start.month - 1) // 3)].append(m)
    coal = 0
    for (year, q), ms in sorted(quarters.items()):
        if ms[-1].start.month != q * 3 + 3:
            continue  # the quarter is not over before the payout month: not due yet
        after = ms[-1].end  # first day of the month after the quarter
        on = after.replace(day=20)
        if on > as_of:
            continue
        stations = sorted({s for m in ms for s in fen.get(("coal_benchmark", m.id), {})})
        amount = sum(sum(fen.get(("coal_benchmark", m.id), {}).values()) for m in ms)
        if not stations or amount <= 0:
            continue
        span = ms[0].id if len(ms) == 1 else f"{ms[0].id}..{ms[-1].id}"
        rows.append(
            f"{on},grid_company,{';'.join(stations)},coal_benchmark,{span},{amount},"
            f"GD-{year}Q{q + 1}"
        )
        coal += 1
    first = ids[:SUBSIDY_YEAR_MONTHS]
    on = payout_period.start.replace(day=10)
    stations = sorted({s for m in first for s in fen.get(("national_subsidy", m), {})})
    amount = sum(sum(fen.get(("national_subsidy", m), {}).values()) for m in first)
    subsidy = 0
    if stations and amount > 0 and on <= as_of:
        rows.append(
            f"{on},finance_bureau,{';'.join(stations)},national_subsidy,"
            f"{first[0]}..{first[-1]},{amount},CZ-{first[0]}-{first[-1]}"
        )
        subsidy = 1
    return "\n".join(rows) + "\n", coal, subsidy, on if subsidy else None


def synthesise(
    config: Config, workdir: Path, payout_period: str, live_start_ms: int, seed: int = 1
) -> History:
    """Statements, final runs and receipts of the months before payout_period (see above)."""
    from revenue import meter_import, receipt_import
    from revenue.payout import ledger_path, payout

    months = history_months(payout_period)
    as_of = local_date(live_start_ms, config.site.tz)
    now = _iso(dt.datetime.fromtimestamp(live_start_ms / 1000, dt.UTC))
    workdir.mkdir(parents=True, exist_ok=True)
    st_file = workdir / "statements-history.csv"
    st_file.write_text(statements_csv(config, months, seed), encoding="utf-8")
    with Ledger(ledger_path(config)) as ledger:
        n_st = meter_import.import_file(config, ledger, st_file, now).statements
        for m in months:
            payout(
                config,
                None,
                m,
                out_dir=None,
                final=True,
                ledger=ledger,
                now=_stamp(m.end + dt.timedelta(days=4), config),
            )
        text, coal, subsidy, on = receipts_csv(
            config, ledger, months, parse_period(payout_period), as_of
        )
        rc_file = workdir / "receipts-history.csv"
        rc_file.write_text(text, encoding="utf-8")
        receipt_import.import_file(config, ledger, rc_file, now)
    return History(tuple(m.id for m in months), n_st, coal, subsidy, on)


def outstanding(config: Config, as_of: dt.date) -> Outstanding:
    """The receivables of the ledger as of a day (revenue/receivables.py)."""
    from revenue.accruals import accruals_from_ledger, cycles
    from revenue.payout import ledger_path
    from revenue.receipts import load_received
    from revenue.receivables import ALL_BUCKETS, SETTLED, receivables

    with Ledger(ledger_path(config)) as ledger:
        accruals, _ = accruals_from_ledger(config, ledger)
        lines = receivables(accruals, load_received(ledger), as_of, cycles(config))
    owed = [ln for ln in lines if ln.component == "national_subsidy" and ln.outstanding_fen > 0]
    buckets = dict.fromkeys(b for b in ALL_BUCKETS if b != SETTLED)
    by = {b: 0 for b in buckets}
    for ln in lines:
        if ln.outstanding_fen > 0 and ln.bucket in by:
            by[ln.bucket] += ln.outstanding_fen
    oldest = min(owed, key=lambda ln: ln.period, default=None)
    return Outstanding(
        as_of,
        sum(ln.outstanding_fen for ln in owed),
        len({ln.period for ln in owed}),
        oldest.period if oldest else "",
        max((ln.days_past_due for ln in owed if oldest and ln.period == oldest.period), default=0),
        (as_of - parse_period(oldest.period).end).days + 1 if oldest else 0,
        tuple(by.items()),
    )


def _yuan(fen: int) -> str:
    from pvledger.report import yuan

    return yuan(fen)


def money_history(
    config: Config, workdir: Path, payout_period: str, live_start_ms: int, seed: int, say
) -> Outstanding:
    """The demo step: synthesise the history, then print what is still owed."""
    import time

    t = time.monotonic()
    h = synthesise(config, workdir / "history", payout_period, live_start_ms, seed)
    say(
        f"  money        {len(h.months)} months finalized {h.months[0]} .. {h.months[-1]} "
        f"from {h.statements:,} synthesised grid statements; {h.coal_receipts} quarterly coal "
        f"receipts on time, the first year's subsidy received {h.subsidy_received_on} "
        f"({time.monotonic() - t:.1f} s)"
    )
    owed = outstanding(config, local_date(live_start_ms, config.site.tz))
    say(
        f"  receivables  subsidy outstanding {_yuan(owed.subsidy_fen)} yuan over "
        f"{owed.subsidy_periods} months; the oldest, {owed.oldest_period}, owed "
        f"{owed.oldest_days_since} days ({owed.oldest_days_past_due} days past due)"
    )
    return owed


def late_money_line(result) -> str:
    """One line on the late money a run pays (its adjustment lines)."""
    late = [a for a in result.adjustments if a.source == "late_receipt"]
    if not late:
        return "  late money   none in this run"
    unpaid = [a for a in late if a.unpaid_reason]
    periods = sorted({a.period_of for a in late})
    received = late[0].label_en.rsplit(" ", 1)[-1]  # "... received 2026-10"
    return (
        f"  late money   {_yuan(sum(a.amount_fen for a in late))} yuan of subsidy for "
        f"{periods[0]} .. {periods[-1]} received {received}, paid in {len(late)} lines "
        f"under the rules and owners of then; {len(unpaid)} listed unpaid (no bank account)"
    )


#: the report's receivables section, by language
REPORT_LABELS = {
    "en": ("Receivables by age (days past due) [yuan]", "Subsidy outstanding", "oldest"),
    "zh": ("应收款账龄（逾期天数）[元]", "未到账补贴", "最早"),
}


def report_note(owed: Outstanding, lang: str) -> str:
    """The sentence under the receivables chart."""
    _, owed_l, oldest_l = REPORT_LABELS[lang]
    if lang == "zh":
        return (
            f"{owed_l} {_yuan(owed.subsidy_fen)} 元（{owed.subsidy_periods} 个月），"
            f"{oldest_l} {owed.oldest_period}，已欠 {owed.oldest_days_since} 天"
            f"（逾期 {owed.oldest_days_past_due} 天）；截至 {owed.as_of}"
        )
    return (
        f"{owed_l} {_yuan(owed.subsidy_fen)} yuan ({owed.subsidy_periods} months); "
        f"{oldest_l} {owed.oldest_period}, owed {owed.oldest_days_since} days "
        f"({owed.oldest_days_past_due} days past due); as of {owed.as_of}"
    )


def with_receivables(data, owed: Outstanding, lang: str):
    """The report's data with the receivables chart and its sentence."""
    import dataclasses

    return dataclasses.replace(
        data, receivables_by_bucket=owed.by_bucket_fen, receivables_note=report_note(owed, lang)
    )
