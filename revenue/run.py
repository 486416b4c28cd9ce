"""A payout run: energy -> tariff lines -> allocation -> checks, for one period.

``compute(config, store, period, ...)`` is pure apart from reading the store: it returns a
frozen RunResult with every line, the inputs hash and the mandatory check results. Nothing
is exported while a check fails (revenue/export.py refuses), and the ledger
(revenue/ledger.py) records runs append-only with a hash chain.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from core.config import Config
from core.config.model import Station
from core.store.base import Store
from revenue import allocate as al
from revenue.energy import ERROR, MISSING, EnergyLine, EnergyReader, ImportedMeter, worst
from revenue.period import Period, local_midnight_ms
from revenue.tariff import ComponentLine, needs_generation, price, segments


@dataclass(frozen=True)
class StationLine:
    """One station's period: energy, components, cash now vs receivable, deductions."""

    station: str
    kind: str
    owner: str
    village: str
    energy_wh: int | None
    energy_source: str
    quality: str
    start_wh: int | None
    end_wh: int | None
    components: tuple[ComponentLine, ...]
    accrued_fen: int
    cash_now_fen: int
    receivable_fen: int
    deductions: tuple[al.DeductionLine, ...]
    deductions_fen: int
    distributable_fen: int
    notes: str = ""


@dataclass(frozen=True)
class Check:
    """A mandatory check: name, passed, and what failed."""

    name: str
    ok: bool
    failures: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunResult:
    """Everything a payout run computed; immutable."""

    period: Period
    inputs_hash: str
    stations: tuple[StationLine, ...]
    payouts: tuple[al.PayoutLine, ...]
    cooperatives: tuple[al.CoopLine, ...]
    pools: tuple[al.PoolLine, ...]
    checks: tuple[Check, ...]
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    state: dict = field(default_factory=dict)
    reconciliation: tuple[dict, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every mandatory check passed."""
        return all(c.ok for c in self.checks)


def progress(items: list, label: str, *, min_total: int = 20_000) -> Iterator:
    """Iterate, drawing a text progress bar on stderr for large runs."""
    total = len(items)
    if total < min_total:
        yield from items
        return
    step = max(total // 50, 1)
    for i, item in enumerate(items):
        if i % step == 0:
            done = i * 40 // total
            sys.stderr.write(f"\r{label} [{'#' * done}{'.' * (40 - done)}] {i:,}/{total:,}")
            sys.stderr.flush()
        yield item
    sys.stderr.write(f"\r{label} [{'#' * 40}] {total:,}/{total:,}\n")


def _months(period: Period, seg_start, seg_end) -> list[str]:
    """Month ids covered by a segment when it is whole months, else []."""
    if seg_start.day != 1 or seg_end.day != 1:
        return []
    out, d = [], seg_start
    while d < seg_end:
        out.append(f"{d.year}-{d.month:02d}")
        d = d.replace(year=d.year + (d.month == 12), month=d.month % 12 + 1)
    return out


def station_lines(
    config: Config, reader: EnergyReader, period: Period, station: Station
) -> tuple[list[ComponentLine], list[EnergyLine], list[str]]:
    """Tariff component lines and energy lines of one station for the period."""
    tz = config.site.tz
    segs, errors = segments(station, config.tariffs, period.start, period.end)
    comps: list[ComponentLine] = []
    energy: list[EnergyLine] = []
    for seg in segs:
        lo, hi = local_midnight_ms(seg.start, tz), local_midnight_ms(seg.end, tz)
        months = _months(period, seg.start, seg.end)
        lines = {"export": reader.line(station, lo, hi, basis="export", months=months)}
        if needs_generation(seg.tariff):
            lines["generation"] = reader.line(station, lo, hi, basis="generation")
        energy += lines.values()
        wh = {b: (ln.energy_wh or 0) for b, ln in lines.items() if ln.quality != ERROR}
        comps += price(station, seg.tariff, wh)
    return comps, energy, errors


def compute(
    config: Config,
    store: Store | None,
    period: Period,
    *,
    imported: ImportedMeter | None = None,
    carried_in: dict[str, int] | None = None,
) -> RunResult:
    """Compute a payout run for a period (see module docstring)."""
    tz = config.site.tz
    reader = EnergyReader(config, store, period.start_ms(tz), period.end_ms(tz), imported=imported)
    months = period.months
    warnings: list[str] = []
    if carried_in is None:
        if any(r.posts for r in config.allocation.village):
            warnings.append(
                f"no final run for {period.previous().id}: jobs pools start with nothing carried in"
            )
        carried_in = {}
    errors: list[str] = []
    alloc = config.allocation
    hh_rule = al.rule_for(alloc.household, period.start, period.end)
    village_of = {h.id: h.village for h in config.households}
    stations = sorted(config.stations, key=lambda s: s.id)
    withheld: dict[str, int] = {}
    st_lines: list[StationLine] = []
    payouts: list[al.PayoutLine] = []
    coop_dist: dict[str, int] = defaultdict(int)
    village_dist: dict[str, int] = defaultdict(int)
    energy_digest: list[dict] = []
    for s in progress(stations, "stations"):
        comps, energy, errs = station_lines(config, reader, period, s)
        errors += [f"{s.id}: {e}" for e in errs]
        export = [e for e in energy if e.basis == "export"]
        energy_digest += [asdict(e) for e in energy]
        quality = worst(e.quality for e in export) if export else MISSING
        for e in energy:
            if e.quality == ERROR:
                errors += [f"{s.id}: {x}" for x in e.errors]
        if quality == MISSING:
            warnings.append(f"{s.id}: no energy data for {period.id} (missing-data line)")
        flags: list[str] = []
        accrued = sum(c.amount_fen for c in comps)
        cash = sum(c.amount_fen for c in comps if c.cash_now)
        if s.kind == "household":
            if hh_rule is None:
                errors.append(f"{s.id}: no household allocation rule covers {period.id}")
            deds, dist, line = al.household_station(
                s.id, s.owner, s.village, cash, hh_rule, months, withheld
            )
            payouts.append(line)
        elif s.kind == "cooperative":
            rule = al.rule_for(alloc.cooperative, period.start, period.end, s.owner, "cooperatives")
            if rule is None:
                errors.append(f"{s.id}: no cooperative allocation rule covers {period.id}")
            deds, dist = al.deduct(s.id, cash, rule.deductions if rule else (), months)
            coop_dist[s.owner] += dist
        else:
            rule = al.rule_for(alloc.village, period.start, period.end, s.owner, "villages")
            if rule is None:
                errors.append(f"{s.id}: no village allocation rule covers {period.id}")
            deds, dist = al.deduct(s.id, cash, rule.deductions if rule else (), months)
            village_dist[s.owner] += dist
            legacy = rule.legacy_beneficiary_share if rule else None
            if legacy is not None and legacy.policy_flag:
                flags.append(f"legacy_beneficiary_share:{legacy.reference}")
        notes = "; ".join(
            flags + [n for e in energy for n in e.notes] + [c.note for c in comps if c.note]
        )
        st_lines.append(
            StationLine(
                s.id,
                s.kind,
                s.owner,
                s.village,
                None if quality in (MISSING, ERROR) else sum(e.energy_wh or 0 for e in export),
                "+".join(sorted({e.source for e in export})) or "none",
                quality,
                export[0].start_wh if len(export) == 1 else None,
                export[-1].end_wh if len(export) == 1 else None,
                tuple(comps),
                accrued,
                cash,
                accrued - cash,
                tuple(deds),
                sum(d.amount_fen for d in deds),
                dist,
                notes,
            )
        )
    recon = reconcile(config, reader, period, st_lines, imported or ImportedMeter())
    coops: list[al.CoopLine] = []
    for c in sorted(config.cooperatives, key=lambda c: c.id):
        rule = al.rule_for(alloc.cooperative, period.start, period.end, c.id, "cooperatives")
        if rule is None:
            continue
        lines, cl = al.cooperative(c, coop_dist.get(c.id, 0), rule, village_of)
        payouts += lines
        coops.append(cl)
    pools: list[al.PoolLine] = []
    state: dict = {"jobs_balance_fen": {}}
    for v in sorted(village_dist):
        rule = al.rule_for(alloc.village, period.start, period.end, v, "villages")
        if rule is None:
            continue
        lines, pl = al.village(v, village_dist[v], rule, months, carried_in.get(v, 0), village_of)
        payouts += lines
        pools += pl
        for p in pl:
            if p.pool == rule.jobs_pool:
                state["jobs_balance_fen"][v] = p.balance_fen
    payouts.sort(key=lambda p: (p.household, p.kind, p.source))
    inputs = {
        "period": period.id,
        "energy": energy_digest,
        "tariffs": [t.model_dump(mode="json") for t in config.tariffs],
        "allocation": alloc.model_dump(mode="json"),
        "registry": {
            "households": sorted((h.id, h.village, h.name) for h in config.households),
            "cooperatives": sorted(
                (c.id, c.village, sorted((m.household, m.shares) for m in c.members))
                for c in config.cooperatives
            ),
            "stations": sorted(
                (
                    s.id,
                    s.kind,
                    s.owner,
                    s.village,
                    s.capacity_kw,
                    s.tariff_class or "",
                    s.subsidy_catalogue,
                )
                for s in config.stations
            ),
        },
        "carried_in_fen": dict(sorted(carried_in.items())),
    }
    inputs_hash = sha256_json(inputs)
    result = RunResult(
        period,
        inputs_hash,
        tuple(st_lines),
        tuple(payouts),
        tuple(coops),
        tuple(pools),
        (),
        tuple(errors),
        tuple(warnings),
        state,
        tuple(recon),
    )
    return RunResult(**{**result.__dict__, "checks": tuple(run_checks(config, result))})


def reconcile(
    config: Config,
    reader: EnergyReader,
    period: Period,
    lines: list[StationLine],
    imported: ImportedMeter,
) -> list[dict]:
    """Per station: meter vs inverter kWh, and computed coal cash vs the grid statement.

    For finance staff (DOMAIN.md): not a payout input, so it never changes an amount.
    """
    tz = config.site.tz
    lo, hi = period.start_ms(tz), period.end_ms(tz)
    months = _months(period, period.start, period.end)
    out = []
    for line in lines:
        s = config.station_by_id[line.station]
        rec = reader.reconcile(s, lo, hi)
        m, i = rec["meter_wh"], rec["inverter_wh"]
        pct = f"{(Decimal(i) - m) * 100 / m:.1f}" if m and i is not None else ""
        stmt = [imported.statements.get((s.id, mo)) for mo in months]
        amt = [imported.amounts.get((s.id, mo)) for mo in months]
        stmt_wh = sum(stmt) if all(x is not None for x in stmt) else None  # type: ignore[arg-type]
        stmt_fen = sum(amt) if all(x is not None for x in amt) else None  # type: ignore[arg-type]
        out.append(
            {
                "station_id": s.id,
                "energy_source": line.energy_source,
                "energy_wh": _blank(line.energy_wh),
                "meter_wh": _blank(m),
                "inverter_wh": _blank(i),
                "inverter_vs_meter_pct": pct,
                "statement_wh": _blank(stmt_wh),
                "statement_amount_fen": _blank(stmt_fen),
                "cash_now_fen": line.cash_now_fen,
                "cash_vs_statement_fen": "" if stmt_fen is None else line.cash_now_fen - stmt_fen,
            }
        )
    return out


def _blank(v: int | None) -> int | str:
    return "" if v is None else v


def sha256_json(obj: object) -> str:
    """SHA-256 of canonical JSON (sorted keys, no spaces, Decimal/date as strings)."""
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


def _fail(name: str, failures: Iterable[str]) -> Check:
    f = tuple(failures)
    return Check(name, not f, f[:50])


def run_checks(config: Config, r: RunResult) -> list[Check]:
    """The mandatory checks; zero tolerance, none can be skipped."""
    out = [_fail("inputs are complete (no energy error, tariff or rule missing)", r.errors)]
    bad = []
    for s in r.stations:
        if s.accrued_fen != s.cash_now_fen + s.receivable_fen:
            bad.append(f"{s.station}: accrued != cash now + receivable")
        if s.cash_now_fen - s.deductions_fen != s.distributable_fen:
            bad.append(f"{s.station}: cash now - deductions != distributable")
    out.append(_fail("station lines add up", bad))
    hh_station = {p.source: p.amount_fen for p in r.payouts if p.kind == "station"}
    bad = []
    for s in r.stations:
        if s.kind == "household" and hh_station.get(s.station) != s.distributable_fen:
            bad.append(f"{s.station}: household line != distributable {s.distributable_fen}")
    coop_st = defaultdict(int)
    for s in r.stations:
        if s.kind == "cooperative":
            coop_st[s.owner] += s.distributable_fen
    coop_paid = defaultdict(int)
    for p in r.payouts:
        if p.kind == "cooperative":
            coop_paid[p.source] += p.amount_fen
    for c in r.cooperatives:
        if c.distributable_fen != coop_st.get(c.cooperative, 0):
            bad.append(f"{c.cooperative}: distributable != its stations")
        if coop_paid.get(c.cooperative, 0) + c.residue_fen != c.distributable_fen:
            bad.append(f"{c.cooperative}: member lines + residue != distributable")
    v_st = defaultdict(int)
    for s in r.stations:
        if s.kind == "village":
            v_st[s.owner] += s.distributable_fen
    v_out = defaultdict(int)
    for p in r.pools:
        v_out[p.village] += p.amount_fen
    for p in r.payouts:
        if p.kind == "legacy":
            v_out[p.village] += p.amount_fen
    for v in set(v_st) | set(v_out):
        if v_st.get(v, 0) != v_out.get(v, 0):
            bad.append(f"{v}: pools (+ legacy) {v_out.get(v, 0)} != distributable {v_st.get(v, 0)}")
    out.append(_fail("lines sum exactly to the distributable amounts", bad))
    total_dist = sum(s.distributable_fen for s in r.stations)
    total_out = (
        sum(p.amount_fen for p in r.payouts)
        + sum(c.residue_fen for c in r.cooperatives)
        + sum(p.amount_fen for p in r.pools)
    )
    out.append(
        _fail(
            "invariant: households + cooperative residue + village pools == distributable",
            [] if total_dist == total_out else [f"{total_out} != {total_dist}"],
        )
    )
    neg = [
        f"station {s.station}"
        for s in r.stations
        for v in (
            s.accrued_fen,
            s.cash_now_fen,
            s.receivable_fen,
            s.deductions_fen,
            s.distributable_fen,
        )
        if v < 0
    ]
    neg += [
        f"deduction {d.owner}/{d.name}"
        for s in r.stations
        for d in s.deductions
        if d.amount_fen < 0
    ]
    neg += [f"payout {p.household}/{p.source}" for p in r.payouts if p.amount_fen < 0]
    neg += [
        f"cooperative {c.cooperative}" for c in r.cooperatives if min(c.paid_fen, c.residue_fen) < 0
    ]
    neg += [f"pool {p.village}/{p.pool}" for p in r.pools if min(p.amount_fen, p.paid_fen) < 0]
    out.append(_fail("no negative line", neg))
    missing = []
    have = {s.station for s in r.stations}
    missing += [f"station {s.id}" for s in config.stations if s.id not in have]
    paid = {(p.household, p.source) for p in r.payouts}
    coops_with_stations = {s.owner for s in config.stations if s.kind == "cooperative"}
    for c in config.cooperatives:
        if c.id in coops_with_stations:
            missing += [
                f"member {m.household} of {c.id}"
                for m in c.members
                if (m.household, c.id) not in paid
            ]
    villages_with_stations = {s.owner for s in config.stations if s.kind == "village"}
    have_pools = {p.village for p in r.pools}
    missing += [f"pools of village {v}" for v in villages_with_stations - have_pools]
    out.append(_fail("every station and every shareholder has a line", missing))
    return out
