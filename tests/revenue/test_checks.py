"""Each mandatory check fails on a result broken in exactly its way, and blocks the export.

A real run of the several-schemes case (village, two households, a cooperative of three)
is computed, then one thing is broken in it; publishing that result (the export stage
``payout`` uses) must raise ChecksFailed naming that check and only that check, leave the
ledger without a run and write no file.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from core.config import load_config
from revenue import allocate as al
from revenue import checks
from revenue.energy import ImportedMeter
from revenue.ledger import Ledger
from revenue.payout import ChecksFailed
from revenue.period import parse_period
from revenue.publish import publish
from revenue.run import RunResult, compute
from tests.revenue.helpers import CASES

AUGUST = parse_period("2026-08")
#: export energy of the month per station [Wh] (grid statements)
ENERGY_WH = {"v-dongpi": 12_000_000, "s-hh-1": 350_000, "s-hh-2": 300_000, "c-a": 1_200_000}


def _run() -> tuple[object, RunResult]:
    cfg = load_config(CASES / "several-schemes" / "config.yaml")
    imported = ImportedMeter(statements={(s, "2026-08"): wh for s, wh in ENERGY_WH.items()})
    r = compute(cfg, None, AUGUST, imported=imported)
    assert r.ok, [c for c in r.checks if not c.ok]
    return cfg, r


def _replace_at(items: tuple, pick: Callable, **changes) -> tuple:
    i = next(i for i, x in enumerate(items) if pick(x))
    return (*items[:i], dataclasses.replace(items[i], **changes), *items[i + 1 :])


def _missing_input(r: RunResult) -> RunResult:
    return dataclasses.replace(r, errors=("s-hh-1: no tariff covers 2026-08-01 .. 2026-09-01",))


def _station_not_adding_up(r: RunResult) -> RunResult:
    # receivable one fen more than accrued - cash now: nothing else reads it
    s = next(s for s in r.stations if s.station == "s-hh-1")
    return dataclasses.replace(
        r,
        stations=_replace_at(r.stations, lambda x: x is s, receivable_fen=s.receivable_fen + 1),
    )


def _fen_moved_between_lines(r: RunResult) -> RunResult:
    # one fen from the village's projects pool to household hh-1's station line: the run's
    # total is unchanged, but neither line matches what it is the share of
    p = next(p for p in r.payouts if p.kind == "station" and p.source == "s-hh-1")
    pool = next(x for x in r.pools if x.amount_fen > 0 and x.pool != "jobs")
    return dataclasses.replace(
        r,
        payouts=_replace_at(r.payouts, lambda x: x is p, amount_fen=p.amount_fen + 1),
        pools=_replace_at(r.pools, lambda x: x is pool, amount_fen=pool.amount_fen - 1),
    )


def _money_from_nowhere(r: RunResult) -> RunResult:
    # a line from a cooperative that has no result line: every per-owner sum still holds
    ghost = al.PayoutLine("hh-1", "dongpi", "coop-ghost", "cooperative", 100)
    return dataclasses.replace(r, payouts=(*r.payouts, ghost))


def _negative_line(r: RunResult) -> RunResult:
    # posts paid below zero: no sum reads paid_fen, only the sign check
    pool = next(p for p in r.pools)
    return dataclasses.replace(r, pools=_replace_at(r.pools, lambda x: x is pool, paid_fen=-1))


def _member_without_line(r: RunResult) -> RunResult:
    # a member's line folded into the residue: the cooperative still adds up
    m = next(p for p in r.payouts if p.kind == "cooperative")
    coop = next(c for c in r.cooperatives if c.cooperative == m.source)
    return dataclasses.replace(
        r,
        payouts=tuple(p for p in r.payouts if p is not m),
        cooperatives=_replace_at(
            r.cooperatives,
            lambda x: x is coop,
            paid_fen=coop.paid_fen - m.amount_fen,
            residue_fen=coop.residue_fen + m.amount_fen,
            members=coop.members - 1,
        ),
    )


def _adjustment_paid_before(r: RunResult) -> RunResult:
    # a late-money line whose key an earlier final run already paid: nothing else reads it
    from revenue.adjustments import AdjustmentLine

    line = AdjustmentLine(
        "late_receipt", "grid/R1/s-hh-1/national_subsidy/2025-03/household:hh-1",
        "household", "hh-1", "dongpi", "s-hh-1", "2025-03", 1234, "补贴", "subsidy",
    )  # fmt: skip
    return dataclasses.replace(r, adjustments=(line,), paid_before=frozenset({line.key}))


def _post_wage_from_nowhere(r: RunResult) -> RunResult:
    # a post wage line no pool paid: post lines are outside the invariant (paid from pools)
    ghost = al.PayoutLine("hh-1", "dongpi", "post wage", "post", 50000)
    return dataclasses.replace(r, payouts=(*r.payouts, ghost))


BREAKS = {
    checks.inputs_complete: _missing_input,
    checks.station_lines_add_up: _station_not_adding_up,
    checks.lines_sum_to_distributable: _fen_moved_between_lines,
    checks.invariant_total: _money_from_nowhere,
    checks.no_negative_line: _negative_line,
    checks.everyone_has_a_line: _member_without_line,
    checks.adjustments_paid_once: _adjustment_paid_before,
    checks.pool_uses_add_up: _post_wage_from_nowhere,
}


def test_every_mandatory_check_has_a_breaking_case():
    assert set(BREAKS) == set(checks.MANDATORY)


@pytest.mark.parametrize("check", checks.MANDATORY, ids=lambda f: f.__name__)
def test_a_broken_result_fails_its_check_and_exports_nothing(check, tmp_path: Path):
    cfg, good = _run()
    broken = BREAKS[check](good)
    got = {c.name: c for c in checks.run_checks(cfg, broken)}
    failed = sorted(n for n, c in got.items() if not c.ok)
    assert failed == [check(cfg, broken).name]  # that check and no other
    assert got[failed[0]].failures  # says what failed
    assert check(cfg, good).ok
    out = tmp_path / "out"
    with Ledger(tmp_path / "revenue.db") as led:
        # the result still carries the passing checks of the good run: publish re-checks
        assert broken.ok
        with pytest.raises(ChecksFailed, match=re.escape(f"FAIL {failed[0]}")):
            publish(cfg, led, broken, status="final", out_dir=out)
        assert led.runs() == []
    assert not out.exists()


def test_the_unbroken_result_is_published(tmp_path: Path):
    cfg, good = _run()
    out = tmp_path / "out"
    with Ledger(tmp_path / "revenue.db") as led:
        o = publish(cfg, led, good, status="draft", out_dir=out)
        assert [r.seq for r in led.runs()] == [o.record.seq]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*o.files, f"ledger-head-{AUGUST.id}.txt"]
    )
