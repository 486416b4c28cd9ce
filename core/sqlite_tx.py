"""One transaction idiom for every SQLite file pvledger writes (store, outbox, ledgers)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator


@contextlib.contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK and re-raise: all or nothing.

    The connection must be in autocommit mode (isolation_level=None). IMMEDIATE
    takes the write lock at the start, so a busy database fails before any work.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
