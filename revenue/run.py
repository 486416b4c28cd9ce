"""A payout run for one period, as named stages over every station:

energy (revenue/energy.py) -> tariffs (revenue/tariff.py) -> allocation by owner kind
(revenue/owners.py over revenue/allocate.py) -> checks (revenue/checks.py) -> exports
(revenue/export.py, through revenue/publish.py).

``compute(config, store, period, ...)`` is pure apart from reading the store: it returns a
frozen RunResult with every line, the inputs hash and the mandatory check results. Nothing
is exported while a check fails (revenue/publish.py runs the checks again and refuses),
and the ledger (revenue/ledger.py) records runs append-only with a hash chain.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal

from core.config import Config
from core.config.model import Station
from core.localday import local_midnight_ms
from core.store.base import Store
from revenue import allocate as al
from revenue.adjustments import STATE_KEY, AdjustmentLine
from revenue.checks import Check, run_checks
from revenue.energy import ERROR, MISSING, EnergyLine, EnergyReader, ImportedMeter, worst
from revenue.owners import Allocation, allocate_station, finish
from revenue.period import Period, whole_months
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
    #: money of other periods or batches paid by this run (revenue/adjustments.py)
    adjustments: tuple[AdjustmentLine, ...] = ()
    #: adjustment keys other effective final runs had paid when this run was computed
    paid_before: frozenset[str] = frozenset()

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


def station_energy_and_components(
    config: Config, reader: EnergyReader, period: Period, station: Station
) -> tuple[list[ComponentLine], list[EnergyLine], list[str]]:
    """The energy and tariff stages of one station: component lines, energy lines, errors.

    The period is cut at tariff changes; each segment's energy is read on the bases its
    tariff pays (export, and generation in self-consumption mode) and priced.
    """
    tz = config.site.tz
    segs, errors = segments(station, config.tariffs, period.start, period.end)
    comps: list[ComponentLine] = []
    energy: list[EnergyLine] = []
    for seg in segs:
        lo, hi = local_midnight_ms(seg.start, tz), local_midnight_ms(seg.end, tz)
        month_ids = whole_months(seg.start, seg.end)
        lines = {"export": reader.line(station, lo, hi, basis="export", months=month_ids)}
        if needs_generation(seg.tariff):
            lines["generation"] = reader.line(station, lo, hi, basis="generation")
        energy += lines.values()
        wh = {b: (ln.energy_wh or 0) for b, ln in lines.items() if ln.quality != ERROR}
        comps += price(station, seg.tariff, wh, on=seg.start)
    return comps, energy, errors


def station_line(
    config: Config, reader: EnergyReader, period: Period, s: Station, alloc: Allocation
) -> tuple[StationLine, list[EnergyLine], list[str], list[str]]:
    """One station through energy, tariffs and allocation: (line, energy lines, errors,
    warnings)."""
    comps, energy, errs = station_energy_and_components(config, reader, period, s)
    errors = [f"{s.id}: {e}" for e in errs]
    warnings = []
    export = [e for e in energy if e.basis == "export"]
    quality = worst(e.quality for e in export) if export else MISSING
    for e in energy:
        if e.quality == ERROR:
            errors += [f"{s.id}: {x}" for x in e.errors]
    if quality == MISSING:
        warnings.append(f"{s.id}: no energy data for {period.id} (missing-data line)")
    accrued = sum(c.amount_fen for c in comps)
    cash = sum(c.amount_fen for c in comps if c.cash_now)
    share = allocate_station(alloc, s, cash)
    notes = "; ".join(
        [*share.flags, *(n for e in energy for n in e.notes), *(c.note for c in comps if c.note)]
    )
    line = StationLine(
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
        share.deductions,
        sum(d.amount_fen for d in share.deductions),
        share.distributable_fen,
        notes,
    )
    return line, energy, errors, warnings


def compute(
    config: Config,
    store: Store | None,
    period: Period,
    *,
    imported: ImportedMeter | None = None,
    carried_in: dict[str, int] | None = None,
    adjustments: tuple[AdjustmentLine, ...] = (),
    paid_before: frozenset[str] = frozenset(),
) -> RunResult:
    """Compute a payout run for a period (see module docstring).

    ``adjustments`` (revenue/adjustments.collect) are paid on top; their keys go into
    the run's state so a later run never pays them again (``paid_before``: the keys
    already paid, for the mandatory check).
    """
    tz = config.site.tz
    reader = EnergyReader(config, store, period.start_ms(tz), period.end_ms(tz), imported=imported)
    warnings: list[str] = []
    if carried_in is None:
        if config.plans is not None or any(r.posts for r in config.allocation.village):
            warnings.append(
                f"no final run for {period.previous().id}: jobs pools start with nothing carried in"
            )
        carried_in = {}
    alloc = Allocation.start(config, period, carried_in)
    errors: list[str] = []
    st_lines: list[StationLine] = []
    energy: list[EnergyLine] = []
    for s in progress(sorted(config.stations, key=lambda s: s.id), "stations"):
        line, en, errs, warns = station_line(config, reader, period, s, alloc)
        st_lines.append(line)
        energy += en
        errors += errs
        errors += alloc.errors
        alloc.errors.clear()
        warnings += warns
    recon = reconcile(config, reader, period, st_lines, imported or ImportedMeter())
    finish(alloc)
    if adjustments:
        alloc.state[STATE_KEY] = sorted(a.key for a in adjustments)
    result = RunResult(
        period,
        inputs_hash(config, period, energy, carried_in, adjustments),
        tuple(st_lines),
        tuple(alloc.payouts),
        tuple(alloc.cooperatives),
        tuple(alloc.pools),
        (),
        tuple(errors),
        tuple(warnings),
        alloc.state,
        tuple(recon),
        tuple(adjustments),
        frozenset(paid_before),
    )
    return replace(result, checks=run_checks(config, result))


def inputs_hash(
    config: Config,
    period: Period,
    energy: list[EnergyLine],
    carried_in: dict[str, int],
    adjustments: tuple[AdjustmentLine, ...] = (),
) -> str:
    """SHA-256 of everything a run's amounts depend on: energy lines, tariffs, rules,
    the registry, the balances carried in and the adjustment lines paid."""
    inputs = {
        "period": period.id,
        "energy": [asdict(e) for e in energy],
        "tariffs": [t.model_dump(mode="json") for t in config.tariffs],
        "allocation": config.allocation.model_dump(mode="json"),
        "registry": {
            "households": sorted((h.id, h.village, h.name) for h in config.households),
            "cooperatives": sorted(
                (c.id, c.village, sorted(_member_key(m) for m in c.members))
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
                    # only when set, so the hash of every run before the field is unchanged
                    *((str(s.catalogue_from),) if s.catalogue_from else ()),
                )
                for s in config.stations
            ),
        },
        "carried_in_fen": dict(sorted(carried_in.items())),
    }
    if config.plans is not None:  # absent without plans: earlier hashes still hold
        years = {int(m[:4]) for m in period.month_ids}  # only the plans that pay this period
        inputs["plans"] = [
            p.model_dump(mode="json") for p in config.plans.villages if p.year in years
        ]
    if adjustments:  # absent when none, so the hashes of earlier runs still hold
        inputs["adjustments"] = [asdict(a) for a in adjustments]
    return sha256_json(inputs)


def _member_key(m) -> tuple:
    """A member as the inputs hash sees it (dates only when given: older hashes hold)."""
    if m.since is None and m.until is None:
        return (m.household, m.shares)
    return (m.household, m.shares, str(m.since or ""), str(m.until or ""))


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
    month_ids = period.month_ids
    out = []
    for line in lines:
        s = config.station_by_id[line.station]
        rec = reader.reconcile(s, lo, hi)
        m, i = rec["meter_wh"], rec["inverter_wh"]
        pct = f"{(Decimal(i) - m) * 100 / m:.1f}" if m and i is not None else ""
        stmt = [imported.statements.get((s.id, mo)) for mo in month_ids]
        amt = [imported.amounts.get((s.id, mo)) for mo in month_ids]
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
