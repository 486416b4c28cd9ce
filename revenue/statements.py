"""Annual statements: per household and per village, from the final runs of a year.

Everything comes from the ledger: the files recorded with each period's effective final
run (households-, household-lines-, stations-, villages- and adjustment-lines-PERIOD.csv),
the receipts imported (``receipts``) and the bank batches and their confirmations
(``payment_*``) when there are any. Nothing is recomputed, so every total ties to the runs:
a household's year is the sum of its ``households`` rows, a village's pools the sum of its
``villages`` rows (tests/payments/test_statements.py).

A household's statement is for that household (full name, no account number); the
village's is for the annual disclosure on the notice board (names masked).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import defaultdict
from dataclasses import dataclass, field

from core.config import Config
from core.problems import BadInput, Problem
from revenue.adjustments import SOURCES
from revenue.export import POOLS_ZH, UNPAID_ZH, mask_name
from revenue.ledger import Ledger, RunRecord
from revenue.notice import PLAN_KIND_ZH
from revenue.period import parse_period

#: a line kind -> (category, zh, en); adjustment sources included (revenue/adjustments.py)
CATEGORIES: dict[str, tuple[str, str, str]] = {
    "station": ("own_station", "自有电站", "own station"),
    "cooperative": ("cooperative", "合作社分红", "cooperative shares"),
    "legacy": ("village_share", "村级收益分成", "village share"),
    "post": ("post_wages", "公益岗位工资", "post wages"),
    "award": ("awards", "奖励补助", "awards"),
    "late_receipt": ("late_subsidy", "补发补贴", "late subsidy"),
    "carried_failed": ("carried", "退票重付", "paid again"),
    "carried_unpaid": ("carried", "未付结转", "carried over"),
}
#: the order of the categories in a statement's columns
CATEGORY_ORDER = (
    "own_station",
    "cooperative",
    "village_share",
    "post_wages",
    "awards",
    "late_subsidy",
)
#: categories that pay again what an earlier line already counted (revenue/carry_over.py)
REPAID = frozenset({"carried"})
CATEGORY_ZH = {c: zh for c, zh, _ in CATEGORIES.values()}
CATEGORY_ZH["carried"] = "结转重付"


@dataclass(frozen=True)
class IncomeLine:
    """One line of a household's year: a period's money from one source [fen]."""

    period: str
    run_seq: int
    category: str
    source: str
    label: str
    amount_fen: int
    unpaid_reason: str = ""  # set: listed, not paid by that run (not in the totals)


@dataclass(frozen=True)
class DeductionLine:
    """A cost taken from a household's own station before it was paid [fen]."""

    period: str
    station: str
    name: str
    amount_fen: int


@dataclass(frozen=True)
class PaymentLine:
    """A bank batch line of the household and what the bank said [fen]."""

    period: str
    batch_id: str
    amount_fen: int
    status: str  # paid | failed | unpaid | sent (no confirmation yet)
    date: str
    reason: str


@dataclass(frozen=True)
class HouseholdStatement:
    """A household's year."""

    year: int
    household_id: str
    name: str
    village_id: str
    village_name: str
    periods: tuple[str, ...]
    lines: tuple[IncomeLine, ...]
    deductions: tuple[DeductionLine, ...]
    payments: tuple[PaymentLine, ...]

    @property
    def income(self) -> tuple[IncomeLine, ...]:
        """The year's income lines: paid by a run, not a carried re-payment."""
        return tuple(ln for ln in self.lines if not ln.unpaid_reason and ln.category not in REPAID)

    @property
    def total_fen(self) -> int:
        """The household's income of the year [fen]: unpaid lines and carried re-payments
        of earlier lines left out (each is income once, in its own period)."""
        return sum(ln.amount_fen for ln in self.income)

    @property
    def repaid(self) -> tuple[IncomeLine, ...]:
        """Lines paid again: a returned transfer or an unpaid line of an earlier batch."""
        return tuple(ln for ln in self.lines if not ln.unpaid_reason and ln.category in REPAID)

    @property
    def unpaid(self) -> tuple[IncomeLine, ...]:
        """Lines the runs listed but could not pay."""
        return tuple(ln for ln in self.lines if ln.unpaid_reason)

    def by_period(self) -> dict[str, dict[str, int]]:
        """period -> category -> paid [fen], every period of the year present."""
        out: dict[str, dict[str, int]] = {p: defaultdict(int) for p in self.periods}
        for ln in self.income:
            out[ln.period][ln.category] += ln.amount_fen
        return out


@dataclass(frozen=True)
class PoolYear:
    """A village pool over the year [fen]: opening + income - paid = closing."""

    pool: str
    label: str
    opening_fen: int
    income_fen: int
    paid_fen: int

    @property
    def closing_fen(self) -> int:
        """The balance carried into the next year [fen]."""
        return self.opening_fen + self.income_fen - self.paid_fen


@dataclass(frozen=True)
class VillageStatement:
    """A village's year, for the annual disclosure."""

    year: int
    village_id: str
    village_name: str
    periods: tuple[str, ...]
    #: per period: village stations' cash now, deductions, distributable [fen]
    income: tuple[tuple[str, int, int, int], ...]
    #: per period and pool: (period, pool label, income, carried in, paid, balance) [fen]
    pool_lines: tuple[tuple[str, str, int, int, int, int], ...]
    pools: tuple[PoolYear, ...]
    #: money received for the village's stations: (date, payer, station, component, fen)
    receipts: tuple[tuple[str, str, str, str, int], ...]
    #: households of the village: (masked name, paid in the year [fen])
    households: tuple[tuple[str, int], ...] = field(default=())
    #: uses by the distribution plan: (plan line, kind, paid, listed unpaid [fen]) over the
    #: year, in the plan's order (plan-lines-PERIOD.csv; none without plans)
    plan_uses: tuple[tuple[str, str, int, int], ...] = ()

    @property
    def households_fen(self) -> int:
        """Paid to the village's households in the year [fen]."""
        return sum(a for _, a in self.households)


def _csv(files: dict[str, bytes], table: str, period: str) -> list[dict]:
    data = files.get(f"{table}-{period}.csv")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")))) if data else []


def year_runs(ledger: Ledger, year: int) -> list[RunRecord]:
    """The effective final run of each period of the year, in period order.

    BadInput when there is none, or when a month and a quarter of the year overlap (their
    money would be counted twice)."""
    ids = sorted({r.period for r in ledger.runs() if r.status == "final"})
    periods = [parse_period(p) for p in ids]
    mine = sorted((p for p in periods if p.start.year == year), key=lambda p: p.start)
    if not mine:
        raise BadInput(
            [Problem("--year", f"no final payout run of {year} in the ledger", "finalize runs")]
        )
    for a, b in itertools.pairwise(mine):
        if b.start < a.end:
            raise BadInput(
                [
                    Problem(
                        "--year",
                        f"final runs of {a.id} and {b.id} cover the same days",
                        "a year is paid by months or by quarters, not both",
                    )
                ]
            )
    runs = [ledger.effective_final(p.id) for p in mine]
    return [r for r in runs if r is not None]


def _payments(ledger: Ledger, runs: list[RunRecord]) -> dict[str, list[PaymentLine]]:
    """payee -> its bank lines in the batches of these runs (empty without batches)."""
    seqs = {r.seq: r.period for r in runs}
    batches = {
        b: (seq, at)
        for b, seq, at in ledger.db.execute(
            "SELECT batch_id, run_seq, recorded_at FROM payment_batches"
        )
        if seq in seqs
    }
    confirmed = dict(
        ledger.db.execute("SELECT batch_id, recorded_at FROM payment_confirmations").fetchall()
    )
    results = {
        (b, n): (s, reason)
        for b, n, s, reason in ledger.db.execute(
            "SELECT batch_id, line_no, status, bank_reason FROM payment_results"
        )
    }
    out: dict[str, list[PaymentLine]] = defaultdict(list)
    for b, n, status, payee, amount, reason in ledger.db.execute(
        "SELECT batch_id, line_no, status, payee, amount_fen, reason FROM payment_lines "
        "ORDER BY batch_id, line_no"
    ):
        if b not in batches:
            continue
        seq, _ = batches[b]
        if status == "unpaid":
            out[payee].append(PaymentLine(seqs[seq], b, amount, "unpaid", "", reason))
            continue
        got = results.get((b, n))
        if got is None:
            out[payee].append(PaymentLine(seqs[seq], b, amount, "sent", "", ""))
        else:
            date = (confirmed.get(b) or "")[:10]
            out[payee].append(PaymentLine(seqs[seq], b, amount, got[0], date, got[1] or ""))
    return out


def household_statements(
    config: Config, ledger: Ledger, year: int, only: str | None = None
) -> list[HouseholdStatement]:
    """Every household paid (or listed) by the year's runs, or only one (BadInput if none)."""
    runs = year_runs(ledger, year)
    periods = tuple(r.period for r in runs)
    lines: dict[str, list[IncomeLine]] = defaultdict(list)
    deductions: dict[str, list[DeductionLine]] = defaultdict(list)
    village_of: dict[str, str] = {}
    for run in runs:
        files = ledger.files(run.seq)
        p = run.period
        for r in _csv(files, "household-lines", p):
            if r["line_kind"] in SOURCES:
                continue  # from adjustment-lines: it has the label and the reason
            h = r["household_id"]
            village_of.setdefault(h, r.get("village_id", ""))
            cat, zh, _ = CATEGORIES.get(r["line_kind"], (r["line_kind"], r["line_kind"], ""))
            lines[h].append(IncomeLine(p, run.seq, cat, r["source"], zh, int(r["amount_fen"])))
        for a in _csv(files, "adjustment-lines", p):
            if a["payee_kind"] != "household":
                continue
            h = a["payee"]
            village_of.setdefault(h, a["village_id"])
            cat = CATEGORIES.get(a["source"], (a["source"],))[0]
            lines[h].append(
                IncomeLine(
                    p,
                    run.seq,
                    cat,
                    a["station_id"] or a["payee"],
                    a["label_zh"],
                    int(a["amount_fen"]),
                    a["unpaid_reason"],
                )
            )
        for s in _csv(files, "stations", p):
            if s["kind"] != "household":
                continue
            for part in filter(None, (s.get("deductions") or "").split(";")):
                name, _, fen = part.partition("=")
                if int(fen):  # a deduction the cash could not carry is 0: nothing taken
                    deductions[s["owner_id"]].append(
                        DeductionLine(p, s["station_id"], name, int(fen))
                    )
    if only is not None and only not in lines:
        raise BadInput(
            [Problem("--household", f"no run of {year} pays or lists household {only!r}", "")]
        )
    pays = _payments(ledger, runs)
    out = []
    for h in sorted(lines) if only is None else [only]:
        hh = config.household_by_id.get(h)
        v = village_of.get(h, "") or (hh.village if hh else "")
        vv = config.village_by_id.get(v)
        out.append(
            HouseholdStatement(
                year,
                h,
                hh.name if hh else h,
                v,
                vv.name if vv else v,
                periods,
                tuple(lines[h]),
                tuple(deductions.get(h, ())),
                tuple(pays.get(h, ())),
            )
        )
    return out


def village_statements(
    config: Config, ledger: Ledger, year: int, only: str | None = None
) -> list[VillageStatement]:
    """Every village the year's runs name, or only one (BadInput if they do not)."""
    runs = year_runs(ledger, year)
    periods = tuple(r.period for r in runs)
    income: dict[str, list] = defaultdict(list)
    pool_lines: dict[str, list] = defaultdict(list)
    hh_paid: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    stations_of: dict[str, set[str]] = defaultdict(set)
    plan: dict[str, dict[tuple[str, str], list[int]]] = defaultdict(dict)
    for run in runs:
        files = ledger.files(run.seq)
        p = run.period
        by_v: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for s in _csv(files, "stations", p):
            if s["kind"] == "village":
                stations_of[s["village_id"]].add(s["station_id"])
                t = by_v[s["village_id"]]
                t[0] += int(s["cash_now_fen"])
                t[1] += int(s["deductions_fen"])
                t[2] += int(s["distributable_fen"])
        for v, (cash, ded, dist) in by_v.items():
            income[v].append((p, cash, ded, dist))
        adj_labels = {
            a["label_en"]: a["label_zh"]
            for a in _csv(files, "adjustment-lines", p)
            if a["payee_kind"] == "village"
        }
        for r in _csv(files, "villages", p):
            label = POOLS_ZH.get(r["pool"], r["pool"])
            if r.get("flags") in adj_labels:
                label += f"（{adj_labels[r['flags']]}）"
            pool_lines[r["village_id"]].append(
                (
                    p,
                    r["pool"],
                    label,
                    int(r["amount_fen"]),
                    int(r.get("carried_in_fen") or 0),
                    int(r.get("posts_paid_fen") or 0),
                    int(r.get("balance_fen") or 0),
                )
            )
        for r in _csv(files, "households", p):
            hh_paid[r["village_id"]][r["household_id"]] += int(r["amount_fen"])
        for r in _csv(files, "plan-lines", p):
            sums = plan[r["village_id"]].setdefault((r["plan_line"], r["use_kind"]), [0, 0])
            sums[0 if r["paid"] == "yes" else 1] += int(r["amount_fen"])
    villages = sorted(set(income) | set(pool_lines) | set(hh_paid))
    if only is not None and only not in villages:
        raise BadInput(
            [
                Problem(
                    "--village",
                    f"no run of {year} names village {only!r}",
                    f"one of: {', '.join(villages) or '(none)'}",
                )
            ]
        )
    receipts = ledger.db.execute(
        "SELECT received_on, payer, stations, component, amount_fen FROM receipts "
        "ORDER BY received_on, payer, reference"
    ).fetchall()
    out = []
    for v in villages if only is None else [only]:
        vv = config.village_by_id.get(v)
        mine = [
            (d, payer, st, comp, fen)
            for d, payer, st, comp, fen in receipts
            if d.startswith(str(year)) and set(st.split(";")) & stations_of[v]
        ]
        out.append(
            VillageStatement(
                year,
                v,
                vv.name if vv else v,
                periods,
                tuple(income[v]),
                tuple((p, label, a, c, paid, b) for p, _, label, a, c, paid, b in pool_lines[v]),
                _pool_years(pool_lines[v]),
                tuple(mine),
                tuple((_masked(config, h), fen) for h, fen in sorted(hh_paid[v].items())),
                tuple(
                    (line.split(" ", 1)[-1], PLAN_KIND_ZH.get(kind, kind), paid, unpaid)
                    for (line, kind), (paid, unpaid) in plan[v].items()
                ),
            )
        )
    return out


def _pool_years(rows: list[tuple]) -> tuple[PoolYear, ...]:
    """Per pool: carried in by its first period, income and paid in the year (rows in
    period order; a pool's later carried-in is its own earlier balance)."""
    out: dict[str, list[int]] = {}
    for _, pool, _, amount, carried, paid, _ in rows:
        if pool not in out:
            out[pool] = [carried, 0, 0]
        out[pool][1] += amount
        out[pool][2] += paid
    return tuple(PoolYear(p, POOLS_ZH.get(p, p), o, i, paid) for p, (o, i, paid) in out.items())


def _masked(config: Config, household_id: str) -> str:
    hh = config.household_by_id.get(household_id)
    return mask_name(hh.name) if hh else household_id


#: deduction names as statements print them; others as configured
DEDUCTIONS_ZH = {
    "om": "运维费",
    "land_rent": "土地租金",
    "loan_interest": "贷款利息",
    "reserve": "公积金",
    "insurance": "保险费",
}


def deduction_zh(name: str) -> str:
    """A deduction's name as a statement prints it."""
    return DEDUCTIONS_ZH.get(name, name)


def unpaid_zh(reason: str) -> str:
    """An unpaid reason as a statement prints it."""
    return UNPAID_ZH.get(reason, reason)
