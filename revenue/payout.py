"""The payout workflow: compute a run, check it, record it in the ledger, write its files."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from core.config import Config
from core.problems import BadInput, Problem
from core.store.base import Store
from revenue.chain import Head, render_head
from revenue.export import render
from revenue.ledger import FinalExists, Ledger, LedgerBroken, RunRecord
from revenue.meter_import import load_imported
from revenue.period import Period
from revenue.run import RunResult, compute


class ChecksFailed(Exception):
    """A mandatory check failed; nothing was exported."""

    def __init__(self, result: RunResult):
        self.result = result
        lines = [f"payout run {result.period.id}: mandatory checks failed, nothing exported"]
        for c in result.checks:
            if not c.ok:
                lines.append(f"  FAIL {c.name}")
                lines += [f"       {f}" for f in c.failures]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Outcome:
    """A recorded run, its files and where they went."""

    result: RunResult
    record: RunRecord
    files: dict[str, bytes]
    written: tuple[Path, ...]


def ledger_path(config: Config) -> Path:
    """data/revenue.db next to the store file (the store path's folder)."""
    return config.resolve(config.storage.path).parent / "revenue.db"


def carried_in(ledger: Ledger, period: Period) -> dict[str, int] | None:
    """Jobs pool balances [fen] left by the effective final run of the previous period.

    None when the previous period has no final run (the run then warns).
    """
    prev = ledger.effective_final(period.previous().id)
    if prev is None:
        return None
    return {k: int(v) for k, v in json.loads(prev.state).get("jobs_balance_fen", {}).items()}


def unapproved_rules(config: Config, period: Period) -> list[str]:
    """Rules applying to the period without an approval reference (key paths)."""
    from revenue.allocate import rule_for

    alloc = config.allocation
    used: dict[str, object] = {}
    hh = rule_for(alloc.household, period.start, period.end)
    if hh is not None and any(s.kind == "household" for s in config.stations):
        used[f"household[{alloc.household.index(hh)}]"] = hh
    for s in config.stations:
        rules = {
            "cooperative": (alloc.cooperative, "cooperatives"),
            "village": (alloc.village, "villages"),
        }.get(s.kind)
        if rules is None:
            continue
        r = rule_for(rules[0], period.start, period.end, s.owner, rules[1])
        if r is not None:
            used[f"{s.kind}[{rules[0].index(r)}]"] = r
    return sorted(k for k, r in used.items() if not getattr(r, "approval", "").strip())


def diff(
    old: dict[str, bytes], new: dict[str, bytes], config: Config, result: RunResult
) -> list[dict]:
    """Per-line difference of a correction run against the run it supersedes [fen]."""
    import csv
    import io

    def amounts(files: dict[str, bytes], table: str, key: tuple[str, ...], col: str) -> dict:
        name = next((n for n in files if n.startswith(table + "-") and n.endswith(".csv")), None)
        if name is None:
            return {}
        rows = csv.DictReader(io.StringIO(files[name].decode("utf-8-sig")))
        return {"/".join(r[k] for k in key): int(r[col]) for r in rows}

    out = []
    for table, key, col in (
        ("stations", ("station_id",), "distributable_fen"),
        ("households", ("household_id",), "amount_fen"),
        ("cooperatives", ("cooperative_id",), "residue_fen"),
        ("villages", ("village_id", "pool"), "amount_fen"),
    ):
        a, b = amounts(old, table, key, col), amounts(new, table, key, col)
        for k in sorted(set(a) | set(b)):
            if a.get(k, 0) != b.get(k, 0):
                out.append(
                    {
                        "table": table,
                        "key": k,
                        "column": col,
                        "old_fen": a.get(k, 0),
                        "new_fen": b.get(k, 0),
                        "difference_fen": b.get(k, 0) - a.get(k, 0),
                    }
                )
    return out


def write_run_head(ledger: Ledger, record: RunRecord, out_dir: Path) -> Path:
    """ledger-head-PERIOD.txt beside a run's files: the chain's head right after this run.

    Not one of the run's recorded files (those are hashed into the run, so they cannot hold
    the hash of the entry that covers them). Keep it with the files: `pvledger revenue
    verify --head FILE` later proves the ledger still holds this run and all before it.
    """
    entry = ledger.run_entry(record.seq)
    assert entry is not None  # append() chains every run in the same transaction
    p = out_dir / f"ledger-head-{record.period}.txt"
    text = render_head(
        Head(entry.seq, entry.hash),
        ledger=ledger.path.name,
        run=record.seq,
        period=record.period,
        status=record.status,
        at=record.recorded_at,
    )
    p.write_text(text, encoding="utf-8", newline="\n")
    return p


def payout(
    config: Config,
    store: Store | None,
    period: Period,
    *,
    out_dir: Path | None,
    final: bool = False,
    supersede: bool = False,
    reason: str = "",
    lang: str = "en",
    ledger: Ledger | None = None,
    now: dt.datetime | None = None,
) -> Outcome:
    """Compute, check, record and write one run (see docs/revenue.md)."""
    from revenue.export import to_csv

    own = ledger is None
    ledger = ledger or Ledger(ledger_path(config))
    try:
        broken = ledger.verify()
        if broken:
            # a run on edited inputs would pay what the edit says (issue 12 item 4)
            raise LedgerBroken(
                f"{ledger.path}: the ledger fails verification, no run computed:\n"
                + "\n".join(f"  {p}" for p in broken[:20])
                + "\nrun `pvledger revenue verify` for every problem"
            )
        existing = ledger.effective_final(period.id)
        if existing is not None and not supersede:
            raise BadInput(
                [
                    Problem(
                        "--period",
                        f"{period.id} was finalized in run {existing.seq}",
                        "a final run never changes; to correct it use --supersede --reason TEXT",
                    )
                ]
            )
        if supersede and (existing is None or not reason.strip()):
            raise BadInput(
                [
                    Problem(
                        "--supersede",
                        "needs a finalized period and a non-empty --reason",
                        "finalize first, and say why the correction is made",
                    )
                ]
            )
        if final or supersede:
            unapproved = unapproved_rules(config, period)
            if unapproved:
                raise BadInput(
                    [
                        Problem(
                            f"allocation.{r}",
                            "has no approval reference: payouts are "
                            "blocked until the allocation plan is approved",
                            "add approval: <document number> to the rule",
                        )
                        for r in unapproved
                    ]
                )
        result = compute(
            config,
            store,
            period,
            imported=load_imported(ledger),
            carried_in=carried_in(ledger, period),
        )
        if not result.ok:
            raise ChecksFailed(result)
        files = render(config, result, lang)
        changes: list[dict] = []
        if supersede and existing is not None:
            changes = diff(ledger.files(existing.seq), files, config, result)
            cols = ["table", "key", "column", "old_fen", "new_fen", "difference_fen"]
            files[f"correction-{period.id}.csv"] = to_csv(changes, cols)
        status = "final" if final or supersede else "draft"
        stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            record = ledger.append(
                period=period.id,
                status=status,
                inputs_hash=result.inputs_hash,
                files=files,
                state=result.state,
                recorded_at=stamp,
                supersedes=existing.seq if supersede and existing else None,
                reason=reason,
                diff=json.dumps(changes, sort_keys=True),
            )
        except FinalExists as exc:
            raise BadInput(
                [Problem("--final", str(exc), "use --supersede --reason TEXT")]
            ) from None
        written = []
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            for name, data in sorted(files.items()):
                p = out_dir / name
                p.write_bytes(data)
                written.append(p)
            written.append(write_run_head(ledger, record, out_dir))
        return Outcome(result, record, files, tuple(written))
    finally:
        if own:
            ledger.close()
