"""Append-only, hash-chained ledger of payout runs and meter imports (SQLite).

Every run (draft or final) is one row; its hash covers its fields, the hashes of its files
and the previous row's hash, so editing, deleting or reordering any row breaks the chain
(``verify``). Triggers refuse UPDATE and DELETE; someone who drops them to tamper is still
caught by the chain. The file lives next to the store: data/revenue.db by default.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from core.sqlite_tx import immediate

GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY, period TEXT NOT NULL, status TEXT NOT NULL,
    inputs_hash TEXT NOT NULL, outputs_hash TEXT NOT NULL, supersedes INTEGER,
    reason TEXT NOT NULL, diff TEXT NOT NULL, state TEXT NOT NULL, recorded_at TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS run_files (
    seq INTEGER NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL, content BLOB NOT NULL,
    PRIMARY KEY (seq, name));
CREATE TABLE IF NOT EXISTS meter_imports (
    file_sha256 TEXT PRIMARY KEY, file_name TEXT NOT NULL, rows INTEGER NOT NULL,
    recorded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meter_statements (
    station TEXT NOT NULL, month TEXT NOT NULL, export_wh INTEGER NOT NULL,
    statement_no TEXT NOT NULL, amount_fen INTEGER, file_sha256 TEXT NOT NULL, line INTEGER,
    PRIMARY KEY (station, month));
CREATE TABLE IF NOT EXISTS meter_readings (
    station TEXT NOT NULL, ts_ms INTEGER NOT NULL, export_wh INTEGER NOT NULL,
    file_sha256 TEXT NOT NULL, line INTEGER, PRIMARY KEY (station, ts_ms));
CREATE TABLE IF NOT EXISTS grid_accounts (
    account TEXT PRIMARY KEY, station TEXT NOT NULL, file_sha256 TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS runs_no_update BEFORE UPDATE ON runs
    BEGIN SELECT RAISE(ABORT, 'the run ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS runs_no_delete BEFORE DELETE ON runs
    BEGIN SELECT RAISE(ABORT, 'the run ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS files_no_update BEFORE UPDATE ON run_files
    BEGIN SELECT RAISE(ABORT, 'the run ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS files_no_delete BEFORE DELETE ON run_files
    BEGIN SELECT RAISE(ABORT, 'the run ledger is append-only'); END;
"""

_FIELDS = (
    "seq",
    "period",
    "status",
    "inputs_hash",
    "outputs_hash",
    "supersedes",
    "reason",
    "diff",
    "state",
    "recorded_at",
    "prev_hash",
)


class FinalExists(Exception):
    """A period already has a final run; only a superseding run may follow it."""


@dataclass(frozen=True)
class RunRecord:
    """One ledger row."""

    seq: int
    period: str
    status: str
    inputs_hash: str
    outputs_hash: str
    supersedes: int | None
    reason: str
    diff: str
    state: str
    recorded_at: str
    prev_hash: str
    hash: str


def row_hash(fields: dict) -> str:
    """SHA-256 over a row's fields (canonical JSON), chained through prev_hash."""
    data = json.dumps({k: fields[k] for k in _FIELDS}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def outputs_hash(files: dict[str, bytes]) -> str:
    """SHA-256 over the names and contents of a run's files."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).hexdigest().encode() + b"\n")
    return h.hexdigest()


class Ledger:
    """The revenue ledger file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the file."""
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs ----------------------------------------------------------------
    def runs(self, period: str | None = None) -> list[RunRecord]:
        """Rows in order, optionally of one period."""
        q = f"SELECT {', '.join(_FIELDS)}, hash FROM runs"
        rows = self.db.execute(
            q + (" WHERE period = ?" if period else "") + " ORDER BY seq",
            (period,) if period else (),
        )
        return [RunRecord(*r) for r in rows]

    def effective_final(self, period: str) -> RunRecord | None:
        """The final run of a period that no later run supersedes."""
        finals = [r for r in self.runs(period) if r.status == "final"]
        return finals[-1] if finals else None

    def files(self, seq: int) -> dict[str, bytes]:
        """The files recorded with a run."""
        return {
            n: bytes(c)
            for n, c in self.db.execute(
                "SELECT name, content FROM run_files WHERE seq = ? ORDER BY name", (seq,)
            )
        }

    def append(
        self,
        *,
        period: str,
        status: str,
        inputs_hash: str,
        files: dict[str, bytes],
        state: dict,
        recorded_at: str,
        supersedes: int | None = None,
        reason: str = "",
        diff: str = "",
    ) -> RunRecord:
        """Append one run with its files, chained to the previous row."""
        with immediate(self.db):
            if status == "final" and supersedes is None:
                # checked again inside the write lock: two --final at once cannot both win
                done = self.db.execute(
                    "SELECT seq FROM runs WHERE period = ? AND status = 'final'", (period,)
                ).fetchone()
                if done:
                    raise FinalExists(f"{period} was finalized in run {done[0]}")
            last = self.db.execute(
                "SELECT seq, hash FROM runs ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
            fields = {
                "seq": seq,
                "period": period,
                "status": status,
                "inputs_hash": inputs_hash,
                "outputs_hash": outputs_hash(files),
                "supersedes": supersedes,
                "reason": reason,
                "diff": diff,
                "state": json.dumps(state, sort_keys=True),
                "recorded_at": recorded_at,
                "prev_hash": prev,
            }
            h = row_hash(fields)
            self.db.execute(
                f"INSERT INTO runs ({', '.join(_FIELDS)}, hash) VALUES ({','.join('?' * 12)})",
                (*fields.values(), h),
            )
            self.db.executemany(
                "INSERT INTO run_files VALUES (?,?,?,?)",
                [(seq, n, hashlib.sha256(c).hexdigest(), c) for n, c in sorted(files.items())],
            )
        return RunRecord(**fields, hash=h)

    def verify(self) -> list[str]:
        """Every break in the chain or the files; [] when the ledger is intact."""
        problems, prev = [], GENESIS
        for r in self.runs():
            fields = {k: getattr(r, k) for k in _FIELDS}
            if r.prev_hash != prev:
                problems.append(f"run {r.seq}: prev_hash does not match run before it")
            if row_hash(fields) != r.hash:
                problems.append(f"run {r.seq}: row content does not match its hash")
            files = self.files(r.seq)
            for n, sha in self.db.execute(
                "SELECT name, sha256 FROM run_files WHERE seq = ?", (r.seq,)
            ):
                if hashlib.sha256(files[n]).hexdigest() != sha:
                    problems.append(f"run {r.seq}: file {n} was changed")
            if outputs_hash(files) != r.outputs_hash:
                problems.append(f"run {r.seq}: files do not match the recorded outputs hash")
            prev = r.hash
        seqs = [r.seq for r in self.runs()]
        if seqs != list(range(1, len(seqs) + 1)):
            problems.append("runs are missing from the sequence (deleted rows)")
        return problems
