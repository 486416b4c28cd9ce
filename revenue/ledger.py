"""Append-only, hash-chained ledger of payout runs and of every imported record (SQLite).

Every run (draft or final) is one row in ``runs``; its hash covers its fields, the hashes
of its files and the previous run's hash. Every import adds its rows (``meter_imports``,
``meter_statements``, ``meter_readings``, ``grid_accounts``) in one transaction. Runs and
imports alike become entries of one hash chain (revenue/chain.py) whose head (length and
last hash) is written, after each commit, to a head file beside the database
(``revenue.db.head``); each run's folder gets a copy (payout.py). Triggers refuse UPDATE
and DELETE on every table; someone who drops them to tamper is still caught by ``verify``
(revenue/ledger_check.py): an edited row differs from its chain entry, a deleted one is
missing, a deleted chain tail or a rebuilt chain no longer matches the head file.

A database from before the chain (PRAGMA user_version 0) is migrated on open: what it
holds then is chained as found, and is protected from then on.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.sqlite_tx import immediate
from revenue.chain import (
    GENESIS,
    Entry,
    Head,
    canonical,
    entry_hash,
    parse_head,
    render_head,
    write_atomic,
)

SCHEMA_VERSION = 1  # 0: runs chained among themselves only; 1: one chain over everything

# Tables of imported records that payouts rest on: name -> (columns, primary key). A new
# kind of input (receipts) joins the chain by adding its table here and writing through
# Ledger.record().
COVERED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "meter_imports": (("file_sha256", "file_name", "rows", "recorded_at"), ("file_sha256",)),
    "meter_statements": (
        ("station", "month", "export_wh", "statement_no", "amount_fen", "file_sha256", "line"),
        ("station", "month"),
    ),
    "meter_readings": (
        ("station", "ts_ms", "export_wh", "file_sha256", "line"),
        ("station", "ts_ms"),
    ),
    "grid_accounts": (("account", "station", "file_sha256"), ("account",)),
    # money received (revenue/receipt_import.py): one row per file, per receipt, and per
    # (station, component, accrual period) share of a receipt
    "receipt_imports": (("file_sha256", "file_name", "rows", "recorded_at"), ("file_sha256",)),
    "receipts": (
        (
            "payer",
            "reference",
            "received_on",
            "stations",
            "component",
            "periods",
            "amount_fen",
            "file_sha256",
            "line",
        ),
        ("payer", "reference"),
    ),
    "receipt_allocations": (
        ("payer", "reference", "station", "component", "period", "amount_fen", "file_sha256"),
        ("payer", "reference", "station", "component", "period"),
    ),
    # bank batches of final runs and the bank's confirmations (revenue/batch.py, confirm.py):
    # one row per batch and per line (transfers and unpaid lines), per confirmation and
    # per confirmed line
    "payment_batches": (
        (
            "batch_id",
            "run_seq",
            "period",
            "bank",
            "template",
            "file_name",
            "count",
            "total_fen",
            "unpaid_fen",
            "recorded_at",
        ),
        ("batch_id",),
    ),
    "payment_lines": (
        (
            "batch_id",
            "line_no",
            "status",
            "payee",
            "village",
            "account",
            "amount_fen",
            "source",
            "ref",
            "period_of",
            "reason",
        ),
        ("batch_id", "line_no"),
    ),
    "payment_confirmations": (
        ("batch_id", "file_sha256", "file_name", "paid_fen", "failed_fen", "recorded_at"),
        ("batch_id",),
    ),
    "payment_results": (
        ("batch_id", "line_no", "status", "bank_reason", "amount_fen"),
        ("batch_id", "line_no"),
    ),
}

_TABLES = """
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
CREATE TABLE IF NOT EXISTS receipt_imports (
    file_sha256 TEXT PRIMARY KEY, file_name TEXT NOT NULL, rows INTEGER NOT NULL,
    recorded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS receipts (
    payer TEXT NOT NULL, reference TEXT NOT NULL, received_on TEXT NOT NULL,
    stations TEXT NOT NULL, component TEXT NOT NULL, periods TEXT NOT NULL,
    amount_fen INTEGER NOT NULL, file_sha256 TEXT NOT NULL, line INTEGER,
    PRIMARY KEY (payer, reference));
CREATE TABLE IF NOT EXISTS receipt_allocations (
    payer TEXT NOT NULL, reference TEXT NOT NULL, station TEXT NOT NULL,
    component TEXT NOT NULL, period TEXT NOT NULL, amount_fen INTEGER NOT NULL,
    file_sha256 TEXT NOT NULL, PRIMARY KEY (payer, reference, station, component, period));
CREATE TABLE IF NOT EXISTS payment_batches (
    batch_id TEXT PRIMARY KEY, run_seq INTEGER NOT NULL, period TEXT NOT NULL,
    bank TEXT NOT NULL, template TEXT NOT NULL, file_name TEXT NOT NULL,
    count INTEGER NOT NULL, total_fen INTEGER NOT NULL, unpaid_fen INTEGER NOT NULL,
    recorded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payment_lines (
    batch_id TEXT NOT NULL, line_no INTEGER NOT NULL, status TEXT NOT NULL,
    payee TEXT NOT NULL, village TEXT NOT NULL, account TEXT NOT NULL,
    amount_fen INTEGER NOT NULL, source TEXT NOT NULL, ref TEXT NOT NULL,
    period_of TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (batch_id, line_no));
CREATE TABLE IF NOT EXISTS payment_confirmations (
    batch_id TEXT PRIMARY KEY, file_sha256 TEXT NOT NULL, file_name TEXT NOT NULL,
    paid_fen INTEGER NOT NULL, failed_fen INTEGER NOT NULL, recorded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payment_results (
    batch_id TEXT NOT NULL, line_no INTEGER NOT NULL, status TEXT NOT NULL,
    bank_reason TEXT NOT NULL, amount_fen INTEGER NOT NULL, PRIMARY KEY (batch_id, line_no));
CREATE TABLE IF NOT EXISTS chain (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL, content BLOB NOT NULL,
    recorded_at TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
"""

#: covered tables added after schema 1 was first released; an older file gains them on open
_ADDED = frozenset(
    {
        "receipt_imports",
        "receipts",
        "receipt_allocations",
        "payment_batches",
        "payment_lines",
        "payment_confirmations",
        "payment_results",
    }
)

# trigger name prefix -> table; the names of schema 0 are kept
_GUARDED = {
    "runs": "runs",
    "files": "run_files",
    **{t: t for t in (*COVERED, "chain")},
}
_SCHEMA_0_GUARDS = ("runs", "files")


def _triggers(prefixes: tuple[str, ...]) -> dict[str, str]:
    """Trigger name -> CREATE statement, for the given guarded tables."""
    out = {}
    for prefix in prefixes:
        for op in ("update", "delete"):
            out[f"{prefix}_no_{op}"] = (
                f"CREATE TRIGGER IF NOT EXISTS {prefix}_no_{op} BEFORE {op.upper()} ON "
                f"{_GUARDED[prefix]} BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;"
            )
    return out


TRIGGERS = _triggers(tuple(_GUARDED))

RUN_FIELDS = (
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


class LedgerBroken(Exception):
    """The ledger does not match its head file: nothing is written until it is looked into."""


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
    data = json.dumps({k: fields[k] for k in RUN_FIELDS}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def outputs_hash(files: dict[str, bytes]) -> str:
    """SHA-256 over the names and contents of a run's files."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).hexdigest().encode() + b"\n")
    return h.hexdigest()


def run_content(r: RunRecord | dict) -> dict:
    """What a run's chain entry holds: enough to name it, and its row hash."""
    get = r.get if isinstance(r, dict) else lambda k: getattr(r, k)
    return {k: get(k) for k in ("seq", "period", "status", "hash")}


class Ledger:
    """The revenue ledger file and its head file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.dropped_triggers = self._missing_triggers()
        self.db.executescript(_TABLES + "\n".join(TRIGGERS.values()))
        self._migrate()

    def close(self) -> None:
        """Close the file."""
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ----------------------------------------------------------------
    def _version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _missing_triggers(self) -> list[str]:
        """Guard triggers of this file's schema that someone dropped (before recreating)."""
        names = {n for (n,) in self.db.execute("SELECT name FROM sqlite_master")}
        if "runs" not in names:
            return []  # a new file
        want = TRIGGERS if self._version() >= 1 else _triggers(_SCHEMA_0_GUARDS)
        # tables added to schema 1 later (receipts) have no triggers in an older file yet;
        # a dropped table's rows are still reported as deleted, against the chain
        return sorted(
            t for t in set(want) - names if _GUARDED[t.rsplit("_no_", 1)[0]] not in _ADDED - names
        )

    def _migrate(self) -> None:
        """Schema 0 -> 1: chain every run and import found, as found (see module doc)."""
        if self._version() >= SCHEMA_VERSION:
            return
        with self._lock():
            with immediate(self.db):
                if self._version() >= SCHEMA_VERSION:
                    return
                self._chain_found()
            if not self.head_path.exists():
                # never over an existing head: that would launder a tampered file
                self._write_head()

    def _chain_found(self) -> None:
        """Inside the migration's transaction: chain the runs and imports found, as found."""
        items = [(r.recorded_at, "run", str(r.seq), run_content(r)) for r in self.runs()]
        by_file: dict[str, dict[str, list[dict]]] = {}
        for table, rows in self.rows().items():
            for r in rows:
                by_file.setdefault(r["file_sha256"], {}).setdefault(table, []).append(r)
        for sha, at in self.db.execute("SELECT file_sha256, recorded_at FROM meter_imports"):
            items.append((at, "import", sha, by_file.pop(sha, {})))
        for at, kind, ref, content in sorted(items, key=lambda i: i[:3]):
            self._chain_append(kind, ref, content, at)
        orphans: dict[str, list[dict]] = {}
        for tables in by_file.values():
            for table, rows in tables.items():
                orphans.setdefault(table, []).extend(rows)
        if items or orphans:
            # marks where the chain starts to protect what was there; rows of no import too
            at = max((i[0] for i in items), default="")
            self._chain_append("migration", "migration", {"schema": SCHEMA_VERSION, **orphans}, at)
        self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- writing -----------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialize writers across processes from BEGIN until the head file is written."""
        with open(self._lock_path, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write: refuse a ledger that no longer matches its head, commit, write the head."""
        with self._lock():
            with immediate(self.db):
                self._require_head()
                yield self.db
            self._write_head()

    def _require_head(self) -> None:
        head = self.read_head()
        have = self.head()
        if head != have:
            said = "is missing" if head is None else f"says {head.entries} entries"
            raise LedgerBroken(
                f"{self.path}: the ledger has {have.entries} chain entries, {self.head_path} "
                f"{said}: nothing was written; run `pvledger revenue verify`"
            )

    def _write_head(self) -> None:
        head = self.head()
        at = self.db.execute("SELECT recorded_at FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
        write_atomic(
            self.head_path, render_head(head, ledger=self.path.name, at=at[0] if at else "")
        )

    def _chain_append(self, kind: str, ref: str, content: object, recorded_at: str) -> Entry:
        last = self.db.execute("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        data = canonical(content)
        h = entry_hash(seq, kind, ref, data, recorded_at, prev)
        self.db.execute(
            "INSERT INTO chain VALUES (?,?,?,?,?,?,?)", (seq, kind, ref, data, recorded_at, prev, h)
        )
        return Entry(seq, kind, ref, data, recorded_at, prev, h)

    def record(self, kind: str, ref: str, rows: dict[str, list[dict]], recorded_at: str) -> Entry:
        """Insert imported rows into their tables and chain them as one entry (all or none)."""
        content = {}
        with self._writing() as db:
            for table, items in rows.items():
                cols, key = COVERED[table]
                items = sorted(items, key=lambda r: [r[k] for k in key])
                db.executemany(
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                    [tuple(r[c] for c in cols) for r in items],
                )
                if items:
                    content[table] = [{c: r[c] for c in cols} for r in items]
            entry = self._chain_append(kind, ref, content, recorded_at)
        return entry

    def accept_head(self) -> Head:
        """Write the head file from the chain as it is (after a crash or an investigation)."""
        with self._lock():
            self._write_head()
        return self.head()

    # -- reading -----------------------------------------------------------------
    def head(self) -> Head:
        """The chain's head in the database."""
        n, h = self.db.execute(
            "SELECT count(*), (SELECT hash FROM chain ORDER BY seq DESC LIMIT 1) FROM chain"
        ).fetchone()
        return Head(n, h or GENESIS)

    def read_head(self) -> Head | None:
        """The head file's head; None when it is missing or unreadable."""
        try:
            return parse_head(self.head_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return None

    def entries(self) -> list[Entry]:
        """The chain in order."""
        return [
            Entry(s, k, r, bytes(c), at, p, h)
            for s, k, r, c, at, p, h in self.db.execute(
                "SELECT seq, kind, ref, content, recorded_at, prev_hash, hash FROM chain "
                "ORDER BY seq"
            )
        ]

    def run_entry(self, seq: int) -> Entry | None:
        """The chain entry of a run."""
        row = self.db.execute(
            "SELECT seq, kind, ref, content, recorded_at, prev_hash, hash FROM chain "
            "WHERE kind = 'run' AND ref = ?",
            (str(seq),),
        ).fetchone()
        return Entry(row[0], row[1], row[2], bytes(row[3]), *row[4:]) if row else None

    def rows(self) -> dict[str, list[dict]]:
        """Every row of the covered tables, as dicts."""
        out = {}
        for table, (cols, key) in COVERED.items():
            q = f"SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(key)}"
            out[table] = [dict(zip(cols, r, strict=True)) for r in self.db.execute(q)]
        return out

    def runs(self, period: str | None = None) -> list[RunRecord]:
        """Rows in order, optionally of one period."""
        q = f"SELECT {', '.join(RUN_FIELDS)}, hash FROM runs"
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
        """Append one run with its files, chained to the previous row and into the chain."""
        with self._writing():
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
                f"INSERT INTO runs ({', '.join(RUN_FIELDS)}, hash) VALUES ({','.join('?' * 12)})",
                (*fields.values(), h),
            )
            self.db.executemany(
                "INSERT INTO run_files VALUES (?,?,?,?)",
                [(seq, n, hashlib.sha256(c).hexdigest(), c) for n, c in sorted(files.items())],
            )
            self._chain_append("run", str(seq), run_content({**fields, "hash": h}), recorded_at)
        return RunRecord(**fields, hash=h)

    def verify(self, heads: tuple[tuple[str, Head], ...] = ()) -> list[str]:
        """Every break in the chain, the head, the runs, their files and the imported rows.

        ``heads``: earlier heads to check too, as (where it came from, head), e.g. the
        ledger-head file of a run's folder. [] when the ledger is intact.
        """
        from revenue.ledger_check import problems

        return problems(self, heads)
