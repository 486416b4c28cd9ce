"""What a correction run changes: per-line amounts of two runs, compared [fen].

The amounts come from the run's result (``amounts``), and for the run it supersedes from
what the ledger recorded with it (``state["amounts"]``, written by revenue/publish.py), so
a correction never depends on parsing the files a run exported.
"""

from __future__ import annotations

import json
from collections import defaultdict

from revenue.ledger import Ledger, RunRecord
from revenue.run import RunResult

#: the tables a correction compares: name -> (key columns, the amount column)
TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "stations": (("station_id",), "distributable_fen"),
    "households": (("household_id",), "amount_fen"),
    "cooperatives": (("cooperative_id",), "residue_fen"),
    "villages": (("village_id", "pool"), "amount_fen"),
}

COLUMNS = ["table", "key", "column", "old_fen", "new_fen", "difference_fen"]

Amounts = dict[str, dict[str, int]]  # table -> key ("a/b" for two key columns) -> fen


def amounts(result: RunResult) -> Amounts:
    """The amount of every line a correction compares, from a run's result [fen]."""
    households: dict[str, int] = defaultdict(int)
    for p in result.payouts:
        households[p.household] += p.amount_fen
    return {
        "stations": {s.station: s.distributable_fen for s in result.stations},
        "households": dict(households),
        "cooperatives": {c.cooperative: c.residue_fen for c in result.cooperatives},
        "villages": {f"{p.village}/{p.pool}": p.amount_fen for p in result.pools},
    }


def recorded_amounts(ledger: Ledger, record: RunRecord) -> Amounts:
    """The amounts recorded with a run in the ledger [fen].

    A run recorded before amounts were kept with it has them only in its recorded CSV
    files: those (not an export on disk) are then read, once, for that old run.
    """
    state = json.loads(record.state or "{}")
    if "amounts" in state:
        return {t: {k: int(v) for k, v in rows.items()} for t, rows in state["amounts"].items()}
    return _amounts_of_old_run(ledger.files(record.seq))


def diff(old: Amounts, new: Amounts) -> list[dict]:
    """Per-line difference of a correction run against the run it supersedes [fen]."""
    out = []
    for table, (_, col) in TABLES.items():
        a, b = old.get(table, {}), new.get(table, {})
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


def _amounts_of_old_run(files: dict[str, bytes]) -> Amounts:
    import csv
    import io

    out: Amounts = {}
    for table, (key, col) in TABLES.items():
        name = next((n for n in files if n.startswith(table + "-") and n.endswith(".csv")), None)
        rows = csv.DictReader(io.StringIO(files[name].decode("utf-8-sig"))) if name else []
        out[table] = {"/".join(r[k] for k in key): int(r[col]) for r in rows}
    return out
