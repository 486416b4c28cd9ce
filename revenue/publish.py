"""The export stage: a computed run -> checks -> ledger -> files on disk.

``publish`` runs every mandatory check on the result it is handed (not the check results
the result carries), so nothing reaches the ledger or the output folder while one fails.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from core.config import Config
from core.problems import BadInput, Problem
from revenue import diff as rdiff
from revenue.chain import Head, render_head
from revenue.checks import run_checks
from revenue.export import render, to_csv
from revenue.ledger import FinalExists, Ledger, RunRecord
from revenue.run import RunResult


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


def checked(config: Config, result: RunResult) -> RunResult:
    """The result with its checks run afresh; ChecksFailed when one fails."""
    result = dataclasses.replace(result, checks=run_checks(config, result))
    if not result.ok:
        raise ChecksFailed(result)
    return result


def publish(
    config: Config,
    ledger: Ledger,
    result: RunResult,
    *,
    status: str,
    supersedes: RunRecord | None = None,
    reason: str = "",
    lang: str = "en",
    out_dir: Path | None = None,
    now: dt.datetime | None = None,
) -> Outcome:
    """Check a run, record it in the ledger and write its files (see docs/revenue.md).

    ``supersedes`` is the final run a correction replaces: its per-line difference to
    this run becomes ``correction-PERIOD.csv``.
    """
    result = checked(config, result)
    files = render(config, result, lang)
    changes: list[dict] = []
    amounts = rdiff.amounts(result)
    if supersedes is not None:
        changes = rdiff.diff(rdiff.recorded_amounts(ledger, supersedes), amounts)
        files[f"correction-{result.period.id}.csv"] = to_csv(changes, rdiff.COLUMNS)
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        record = ledger.append(
            period=result.period.id,
            status=status,
            inputs_hash=result.inputs_hash,
            files=files,
            state={**result.state, "amounts": amounts},
            recorded_at=stamp,
            supersedes=supersedes.seq if supersedes is not None else None,
            reason=reason,
            diff=json.dumps(changes, sort_keys=True),
        )
    except FinalExists as exc:
        raise BadInput([Problem("--final", str(exc), "use --supersede --reason TEXT")]) from None
    written = []
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, data in sorted(files.items()):
            p = out_dir / name
            p.write_bytes(data)
            written.append(p)
        written.append(write_run_head(ledger, record, out_dir))
    return Outcome(result, record, files, tuple(written))


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
