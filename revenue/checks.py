"""The mandatory checks of a payout run: zero tolerance, none can be skipped.

Each check is one function ``(config, result) -> Check`` listed in ``MANDATORY``; the run
is exported only when every one passes (revenue/publish.py runs them again on the result
it is handed, so a result built or altered after ``compute`` cannot slip through).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.config import Config

if TYPE_CHECKING:
    from revenue.run import RunResult

#: failures kept per check (the rest are counted, not listed)
MAX_LISTED = 50


@dataclass(frozen=True)
class Check:
    """A mandatory check: name, passed, and what failed."""

    name: str
    ok: bool
    failures: tuple[str, ...] = ()


def _check(name: str, failures: Iterable[str]) -> Check:
    f = tuple(failures)
    return Check(name, not f, f[:MAX_LISTED])


def inputs_complete(config: Config, r: RunResult) -> Check:
    """No energy error, no tariff or allocation rule missing."""
    return _check("inputs are complete (no energy error, tariff or rule missing)", r.errors)


def station_lines_add_up(config: Config, r: RunResult) -> Check:
    """accrued = cash now + receivable, and cash now - deductions = distributable [fen]."""
    bad = []
    for s in r.stations:
        if s.accrued_fen != s.cash_now_fen + s.receivable_fen:
            bad.append(f"{s.station}: accrued != cash now + receivable")
        if s.cash_now_fen - sum(d.amount_fen for d in s.deductions) != s.distributable_fen:
            bad.append(f"{s.station}: cash now - deductions != distributable")
        elif s.deductions_fen != sum(d.amount_fen for d in s.deductions):
            bad.append(f"{s.station}: deductions total != its deduction lines")
    return _check("station lines add up", bad)


def lines_sum_to_distributable(config: Config, r: RunResult) -> Check:
    """Per household station, cooperative and village: the lines paid = distributable [fen]."""
    bad = []
    hh_station = {p.source: p.amount_fen for p in r.payouts if p.kind == "station"}
    for s in r.stations:
        if s.kind == "household" and hh_station.get(s.station) != s.distributable_fen:
            bad.append(f"{s.station}: household line != distributable {s.distributable_fen}")
    coop_st: dict[str, int] = defaultdict(int)
    v_st: dict[str, int] = defaultdict(int)
    for s in r.stations:
        if s.kind == "cooperative":
            coop_st[s.owner] += s.distributable_fen
        elif s.kind == "village":
            v_st[s.owner] += s.distributable_fen
    coop_paid: dict[str, int] = defaultdict(int)
    for p in r.payouts:
        if p.kind == "cooperative":
            coop_paid[p.source] += p.amount_fen
    for c in r.cooperatives:
        if c.distributable_fen != coop_st.get(c.cooperative, 0):
            bad.append(f"{c.cooperative}: distributable != its stations")
        if coop_paid.get(c.cooperative, 0) + c.residue_fen != c.distributable_fen:
            bad.append(f"{c.cooperative}: member lines + residue != distributable")
    v_out: dict[str, int] = defaultdict(int)
    for p in r.pools:
        v_out[p.village] += p.amount_fen
    for p in r.payouts:
        if p.kind == "legacy":
            v_out[p.village] += p.amount_fen
    for v in sorted(set(v_st) | set(v_out)):
        if v_st.get(v, 0) != v_out.get(v, 0):
            bad.append(f"{v}: pools (+ legacy) {v_out.get(v, 0)} != distributable {v_st.get(v, 0)}")
    return _check("lines sum exactly to the distributable amounts", bad)


def invariant_total(config: Config, r: RunResult) -> Check:
    """households + cooperative residue + village pools == distributable, over the run [fen]."""
    total_dist = sum(s.distributable_fen for s in r.stations)
    total_out = (
        # post wages are paid out of the pools' balances, counted there (pool_uses_add_up)
        sum(p.amount_fen for p in r.payouts if p.kind != "post")
        + sum(c.residue_fen for c in r.cooperatives)
        + sum(p.amount_fen for p in r.pools)
    )
    return _check(
        "invariant: households + cooperative residue + village pools == distributable",
        [] if total_dist == total_out else [f"{total_out} != {total_dist}"],
    )


def no_negative_line(config: Config, r: RunResult) -> Check:
    """No amount on any line of the run is below zero [fen]."""
    neg = [
        f"station {s.station}"
        for s in r.stations
        if min(
            s.accrued_fen, s.cash_now_fen, s.receivable_fen, s.deductions_fen, s.distributable_fen
        )
        < 0
    ]
    neg += [
        f"component {s.station}/{c.name}"
        for s in r.stations
        for c in s.components
        if c.amount_fen < 0
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
    return _check("no negative line", neg)


def everyone_has_a_line(config: Config, r: RunResult) -> Check:
    """Every station, every member of a cooperative with stations, every village's pools."""
    have = {s.station for s in r.stations}
    missing = [f"station {s.id}" for s in config.stations if s.id not in have]
    paid = {(p.household, p.source) for p in r.payouts}
    coops_with_stations = {s.owner for s in config.stations if s.kind == "cooperative"}
    for c in config.cooperatives:
        if c.id in coops_with_stations:
            missing += [
                f"member {m.household} of {c.id}"
                for m in c.members_during(r.period.start, r.period.end)
                if (m.household, c.id) not in paid
            ]
    villages_with_stations = {s.owner for s in config.stations if s.kind == "village"}
    have_pools = {p.village for p in r.pools}
    missing += [f"pools of village {v}" for v in sorted(villages_with_stations - have_pools)]
    return _check("every station and every shareholder has a line", missing)


def adjustments_paid_once(config: Config, r: RunResult) -> Check:
    """No adjustment key paid by another final run or twice here; no amount below 0 [fen]."""
    bad, seen = [], set()
    for a in r.adjustments:
        if a.key in r.paid_before:
            bad.append(f"adjustment {a.key}: already paid by an earlier final run")
        if a.key in seen:
            bad.append(f"adjustment {a.key}: twice in this run")
        seen.add(a.key)
        if a.amount_fen < 0:
            bad.append(f"adjustment {a.key}: negative amount {a.amount_fen}")
    return _check("adjustment lines: each paid once, none negative", bad)


def pool_uses_add_up(config: Config, r: RunResult) -> Check:
    """Per pool: carried in + income = paid + balance, paid = its paid plan lines, and the
    post wage lines = the paid post uses, per holder [fen] (docs/payments.md)."""
    bad = []
    wages: dict[str, int] = defaultdict(int)
    for p in r.pools:
        # without plans a pool's paid/balance belong to the rules' posts (no_negative_line)
        balanced = p.carried_in_fen + p.amount_fen == p.paid_fen + p.balance_fen
        if config.plans is not None and not balanced:
            bad.append(f"{p.village}/{p.pool}: carried in + income != paid + balance")
        if p.uses and sum(u.amount_fen for u in p.uses if u.paid) != p.paid_fen:
            bad.append(f"{p.village}/{p.pool}: paid != its paid plan lines")
        for u in p.uses:
            if u.kind == "post" and u.paid:
                wages[u.household] += u.amount_fen
    lines: dict[str, int] = defaultdict(int)
    for p in r.payouts:
        if p.kind == "post":
            lines[p.household] += p.amount_fen
    if dict(wages) != dict(lines):
        bad.append("post wage lines != the paid post uses of the pools")
    return _check("pool uses add up (carried in + income = uses + balance)", bad)


#: every payout run runs all of these, in this order
MANDATORY: tuple[Callable[[Config, RunResult], Check], ...] = (
    inputs_complete,
    station_lines_add_up,
    lines_sum_to_distributable,
    invariant_total,
    no_negative_line,
    everyone_has_a_line,
    adjustments_paid_once,
    pool_uses_add_up,
)


def run_checks(config: Config, r: RunResult) -> tuple[Check, ...]:
    """The results of every mandatory check on a run, in ``MANDATORY`` order."""
    return tuple(check(config, r) for check in MANDATORY)
