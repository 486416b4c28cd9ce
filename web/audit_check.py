"""Verify the audit trail straight from the SQLite file (no Django needed).

Finds an edited entry (its hash no longer matches), a deleted one (a gap or a broken
link), a removed last entry or a rebuilt chain (against the head file), and dropped
guard triggers.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from revenue.chain import Entry, chain_problems, compare_head, parse_head

#: the guard triggers the migration creates (web/migrations/0002_audit_guards.py)
TRIGGERS = ("audit_trail_no_update", "audit_trail_no_delete")


def entries(db: Path) -> list[Entry]:
    """Every entry of the audit trail, in seq order."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT seq, action, username, content, recorded_at, prev_hash, hash "
            "FROM audit_trail ORDER BY seq"
        ).fetchall()
        return [Entry(r[0], r[1], r[2], r[3].encode(), r[4], r[5], r[6]) for r in rows]
    finally:
        con.close()


def missing_triggers(db: Path) -> list[str]:
    """Guard triggers that are not in the file."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        have = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    finally:
        con.close()
    return [t for t in TRIGGERS if t not in have]


def problems(db: Path) -> list[str]:
    """Everything wrong with the audit trail in db (empty: intact)."""
    if not db.exists():
        return [f"{db}: no such file (has pvledger serve or pvledger users run yet?)"]
    found = [f"trigger {t} was dropped" for t in missing_triggers(db)]
    chain = entries(db)
    found += chain_problems(chain)
    head_file = db.with_name(db.name + ".head")
    try:
        head = parse_head(head_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        head = None
        if chain:
            found.append(f"head: {head_file} is missing (deleted?)")
    if head is None and head_file.exists():
        found.append(f"head: {head_file} is not a head file")
    elif head is not None:
        # revenue/chain.py words these for the payout ledger
        found += [
            p.replace("the ledger has", "the audit trail has").replace(
                "(ledger truncated)", "(audit trail truncated)"
            )
            for p in compare_head(chain, head, str(head_file))
        ]
    return found
