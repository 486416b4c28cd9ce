"""What the village notice (公示) of a final run says, read from the ledger, and its check code.

The notice is built from the files the ledger recorded with the run (households-, household-
lines- and villages-PERIOD.csv, and adjustment-lines-PERIOD.csv for the zh labels of late
money and carried lines), never from
an export on disk or a fresh computation: what is pinned up is what the ledger holds.

The check code is the first 10 hex digits of SHA-256("<run hash>/<village id>"): anyone
holding the sheet can give it to the public check page (web/pages/notice_check.py), which
finds the run and village it belongs to and shows the same totals, or says it matches
nothing. It names no person and no account.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass

from core.config import Config
from core.problems import BadInput, Problem
from revenue.adjustments import SOURCES
from revenue.export import POOLS_ZH, UNPAID_ZH, mask_name
from revenue.ledger import Ledger, RunRecord
from revenue.money import fen_to_yuan_str
from revenue.period import parse_period

CODE_LENGTH = 10
#: the recorded file of a run's adjustment lines (revenue/export.py)
ADJUSTMENTS = "adjustment-lines"
_CODE_RE = re.compile(r"^[0-9a-f]{10}$")

#: a household line's kind as the notice names its source ({name}: the source's name)
KIND_ZH = {
    "station": "户用电站",
    "cooperative": "{name}分红",
    "legacy": "村级电站收益分成",
    "post": "公益岗位工资",
    "award": "奖励补助",
}

#: several adjustment lines of one source, summed on the notice (revenue/adjustments.py)
ADJUSTMENT_ZH = {
    "late_receipt": "补发补贴",
    "carried_failed": "退票重付",
    "carried_unpaid": "未付结转",
}

#: flags of a line as the notice says them ("name:detail" by name, {detail} filled in);
#: others are printed as recorded
FLAGS_ZH = {
    "no-data": "无发电数据",
    "legacy_beneficiary_share": "按{detail}分成",
}


def flag_zh(flag: str) -> str:
    """A recorded line flag as the notice prints it (FLAGS_ZH)."""
    name, _, detail = flag.partition(":")
    template = FLAGS_ZH.get(name)
    return template.format(detail=detail) if template else flag


@dataclass(frozen=True)
class NoticeLine:
    """One household on the notice: masked name, where its money came from, the amount."""

    household_id: str
    name_masked: str
    sources: tuple[str, ...]
    amount_fen: int
    note: str


@dataclass(frozen=True)
class PoolUse:
    """A village pool of the period: its income, what was carried in, paid out, left [fen]."""

    pool: str
    label: str
    amount_fen: int
    carried_in_fen: int
    paid_fen: int
    balance_fen: int


@dataclass(frozen=True)
class PlanLine:
    """One planned use of a village pool paid (or not) by the run [fen]."""

    name: str  # the plan line's name: 保洁员, 村道修补
    kind: str  # post | project | award
    month: str
    holder_masked: str  # the post holder or award beneficiary, masked; "" for a work
    amount_fen: int
    paid: bool


#: a plan line's kind as the notice names it
PLAN_KIND_ZH = {"post": "公益岗位", "project": "小型公益事业", "award": "奖励补助"}


@dataclass(frozen=True)
class Notice:
    """One village's notice of one run."""

    run_seq: int
    run_hash: str
    status: str  # final | superseded
    superseded_by: int | None
    period: str
    period_zh: str
    village_id: str
    village_name: str
    lines: tuple[NoticeLine, ...]
    pools: tuple[PoolUse, ...]
    #: the pools' uses by the village's distribution plan (plan-lines-PERIOD.csv)
    plan_uses: tuple[PlanLine, ...] = ()
    #: post wages on the household lines: paid out of the pools, so counted once [fen]
    post_wages_fen: int = 0

    @property
    def households_fen(self) -> int:
        """Paid to households [fen]."""
        return sum(ln.amount_fen for ln in self.lines)

    @property
    def pools_fen(self) -> int:
        """The village pools' income of the period [fen]."""
        return sum(p.amount_fen for p in self.pools)

    @property
    def total_fen(self) -> int:
        """The period's money of the village [fen]: households and pools, post wages (paid
        to households from the pools) counted once."""
        return self.households_fen + self.pools_fen - self.post_wages_fen

    @property
    def check_code(self) -> str:
        """The code printed on the sheet (module docstring)."""
        return check_code(self.run_hash, self.village_id)


def check_code(run_hash: str, village_id: str) -> str:
    """First 10 hex digits of SHA-256("<run hash>/<village id>")."""
    return hashlib.sha256(f"{run_hash}/{village_id}".encode()).hexdigest()[:CODE_LENGTH]


def normalize_code(text: str) -> str | None:
    """A code as typed (any case, spaces or dashes) -> 10 lowercase hex digits, or None."""
    code = re.sub(r"[\s-]", "", text or "").lower()
    return code if _CODE_RE.match(code) else None


def period_zh(period_id: str) -> str:
    """2026-07 -> 2026年7月, 2026Q3 -> 2026年第3季度."""
    p = parse_period(period_id)
    if p.month_count == 3:
        return f"{p.start.year}年第{(p.start.month - 1) // 3 + 1}季度"
    return f"{p.start.year}年{p.start.month}月"


def date_zh(d: dt.date) -> str:
    """2026-08-05 -> 2026年8月5日."""
    return f"{d.year}年{d.month}月{d.day}日"


def _csv(files: dict[str, bytes], table: str, period: str) -> list[dict]:
    data = files.get(f"{table}-{period}.csv")
    if data is None:
        return []
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def superseded_by(ledger: Ledger, run: RunRecord) -> int | None:
    """The run that superseded a final run, if any."""
    for r in ledger.runs(run.period):
        if r.supersedes == run.seq:
            return r.seq
    return None


#: the recorded files a notice reads (never the workbook: a lookup stays small)
NOTICE_TABLES = ("households", "household-lines", "villages", ADJUSTMENTS, "plan-lines")


def notice_files(ledger: Ledger, run: RunRecord) -> dict[str, bytes]:
    """The recorded CSV files of a run that a notice reads, name -> bytes."""
    names = [f"{t}-{run.period}.csv" for t in NOTICE_TABLES]
    marks = ",".join("?" * len(names))
    rows = ledger.db.execute(
        f"SELECT name, content FROM run_files WHERE seq = ? AND name IN ({marks})",
        (run.seq, *names),
    )
    return {n: bytes(c) for n, c in rows}


def villages_of(files: dict[str, bytes], period: str) -> list[str]:
    """The villages a run's recorded files name (households or pools), sorted."""
    rows = _csv(files, "households", period) + _csv(files, "villages", period)
    return sorted({r["village_id"] for r in rows if r.get("village_id")})


def final_run(ledger: Ledger, seq: int) -> RunRecord:
    """A recorded final run by its number; BadInput for a missing or draft run."""
    run = next((r for r in ledger.runs() if r.seq == seq), None)
    if run is None:
        raise BadInput([Problem("--run", f"there is no run {seq} in the ledger", "")])
    if run.status != "final":
        raise BadInput(
            [
                Problem(
                    "--run",
                    f"run {seq} ({run.period}) is a {run.status}: only a final run is published",
                    f"finalize it: pvledger revenue --period {run.period} --final",
                )
            ]
        )
    return run


def build(config: Config, ledger: Ledger, run: RunRecord, village_id: str) -> Notice:
    """The notice of one village in a final run (BadInput: the run does not name it)."""
    files = notice_files(ledger, run)
    period = run.period
    known = villages_of(files, period)
    if village_id not in known:
        raise BadInput(
            [
                Problem(
                    "--village",
                    f"run {run.seq} ({period}) has no line of village {village_id!r}",
                    f"one of: {', '.join(known) or '(none)'}",
                )
            ]
        )
    coop_name = {c.id: c.name for c in config.cooperatives}
    adjustments = [r for r in _csv(files, ADJUSTMENTS, period) if r["village_id"] == village_id]
    by_hh: dict[str, list[dict]] = {}
    for r in _csv(files, "household-lines", period):
        # adjustment lines come from their own file, which has their zh label and reason
        if r.get("village_id", village_id) == village_id and r["line_kind"] not in SOURCES:
            by_hh.setdefault(r["household_id"], []).append(r)
    for a in adjustments:
        if a["payee_kind"] == "household":
            by_hh.setdefault(a["payee"], []).append(
                {
                    "source": a["label_zh"],
                    "line_kind": "adjustment",
                    "adjustment": a["source"],
                    "period_of": a["period_of"],
                    "amount_fen": a["amount_fen"],
                    "unpaid_reason": a.get("unpaid_reason", ""),
                }
            )
    lines = []
    for h, rows in sorted(by_hh.items()):
        hh = config.household_by_id.get(h)
        flags = sorted({f for r in rows for f in (r.get("flags") or "").split(";") if f})
        notes = [flag_zh(f) for f in flags]
        paid = [r for r in rows if not r.get("unpaid_reason")]
        for r in rows:
            if r.get("unpaid_reason"):  # listed, not counted: the run did not pay it
                reason = UNPAID_ZH.get(r["unpaid_reason"], r["unpaid_reason"])
                notes.append(
                    f"{r['source']} {fen_to_yuan_str(int(r['amount_fen']))} 元未付：{reason}"
                )
        lines.append(
            NoticeLine(
                h,
                mask_name(hh.name) if hh else h,
                _sources(paid, coop_name),
                sum(int(r["amount_fen"]) for r in paid),
                "；".join(notes),
            )
        )
    pools = _pools(
        [r for r in _csv(files, "villages", period) if r["village_id"] == village_id],
        [a for a in adjustments if a["payee_kind"] == "village"],
    )
    later = superseded_by(ledger, run)
    v = config.village_by_id.get(village_id)
    return Notice(
        run.seq,
        run.hash,
        "final" if later is None else "superseded",
        later,
        period,
        period_zh(period),
        village_id,
        v.name if v else village_id,
        tuple(lines),
        pools,
        plan_lines(config, files, period, village_id),
        sum(
            int(r["amount_fen"])
            for rows in by_hh.values()
            for r in rows
            if r.get("line_kind") == "post" and not r.get("unpaid_reason")
        ),
    )


def plan_lines(
    config: Config, files: dict[str, bytes], period: str, village_id: str
) -> tuple[PlanLine, ...]:
    """The village's plan lines of a run (none without distribution plans)."""
    out = []
    for r in _csv(files, "plan-lines", period):
        if r["village_id"] != village_id:
            continue
        hh = config.household_by_id.get(r.get("household_id") or "")
        out.append(
            PlanLine(
                r["plan_line"].split(" ", 1)[-1],  # "posts[0] 保洁员" -> 保洁员
                r["use_kind"],
                r["month"],
                mask_name(hh.name) if hh else "",
                int(r["amount_fen"]),
                r["paid"] == "yes",
            )
        )
    return tuple(out)


def _pools(rows: list[dict], adjustments: list[dict]) -> tuple[PoolUse, ...]:
    """The village's pool lines; the rows adjustment lines added to a pool (late money for
    twelve months is twelve rows per pool) summed into one per pool and kind."""
    labels = {a["label_en"]: a for a in adjustments}
    out: list[PoolUse] = []
    extra: dict[tuple[str, str], list[tuple[dict, dict]]] = {}
    for r in rows:
        a = labels.get(r.get("flags") or "")
        if a is None:
            out.append(
                PoolUse(
                    r["pool"],
                    POOLS_ZH.get(r["pool"], r["pool"]),
                    int(r["amount_fen"]),
                    int(r.get("carried_in_fen") or 0),
                    int(r.get("posts_paid_fen") or 0),
                    int(r.get("balance_fen") or 0),
                )
            )
        else:
            extra.setdefault((r["pool"], a["source"]), []).append((r, a))
    for (pool, source), items in extra.items():
        if len(items) == 1:
            note = items[0][1]["label_zh"]
        else:
            periods = sorted(a["period_of"] for _, a in items)
            name = ADJUSTMENT_ZH.get(source, source)
            note = f"{name} {periods[0]}至{periods[-1]}，{len(items)} 笔"
        fen = sum(int(r["amount_fen"]) for r, _ in items)
        out.append(
            PoolUse(
                pool,
                f"{POOLS_ZH.get(pool, pool)}（{note}）",
                fen,
                sum(int(r.get("carried_in_fen") or 0) for r, _ in items),
                sum(int(r.get("posts_paid_fen") or 0) for r, _ in items),
                sum(int(r.get("balance_fen") or 0) for r, _ in items),
            )
        )
    return tuple(out)


def _sources(rows: list[dict], coop_name: dict[str, str]) -> tuple[str, ...]:
    """ "label amount" per source, equal labels added up, lines of 0.00 left out; several
    adjustment lines of one kind (a year of late subsidy) are one entry with their range."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        key = f"adj:{r['adjustment']}" if r.get("adjustment") else _source_zh(r, coop_name)
        groups.setdefault(key, []).append(r)
    out = []
    for key, items in groups.items():
        fen = sum(int(r["amount_fen"]) for r in items)
        if not fen:
            continue
        labels = {r["source"] for r in items}
        if key.startswith("adj:") and len(labels) > 1:
            periods = sorted(r["period_of"] for r in items)
            name = ADJUSTMENT_ZH.get(key[4:], key[4:])
            label = f"{name}（{periods[0]}至{periods[-1]}，{len(items)} 笔）"
        else:
            label = items[0]["source"] if key.startswith("adj:") else key
        out.append(f"{label} {fen_to_yuan_str(fen)}")
    return tuple(out)


def _source_zh(row: dict, coop_name: dict[str, str]) -> str:
    kind = row.get("line_kind", "")
    if kind == "adjustment":
        return row["source"]
    template = KIND_ZH.get(kind)
    if template is None:
        return row.get("source", kind)
    return template.format(name=coop_name.get(row["source"], row["source"]))


def find(config: Config, ledger: Ledger, code: str) -> Notice | None:
    """The notice a check code belongs to, among every final run (superseded ones too)."""
    for run in ledger.runs():
        if run.status != "final":
            continue
        for v in villages_of(notice_files(ledger, run), run.period):
            if check_code(run.hash, v) == code:
                return build(config, ledger, run, v)
    return None
