"""What the payout run pages show, read from a run's files as the ledger recorded them.

Pure functions over ``Ledger.files(seq)`` (name -> bytes) and the config: the tables of a
run, each row scoped to the villages a user may see, and a file filtered the same way
for a village user's download. Never the CSV files of an output folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from datetime import tzinfo

from core.config import Config
from revenue.money import fen_to_yuan_str

#: the tables a run page shows: file prefix -> the columns shown (yuan, never fen twice)
SHOWN: dict[str, tuple[str, ...]] = {
    "checks": ("check", "ok"),
    "villages": (
        "village_id",
        "pool",
        "amount_yuan",
        "carried_in_yuan",
        "posts_paid_yuan",
        "balance_yuan",
    ),
    "cooperatives": (
        "cooperative_id",
        "village_id",
        "members",
        "distributable_yuan",
        "paid_yuan",
        "residue_yuan",
        "residue_to",
    ),
    "households": ("household_id", "name", "village_id", "amount_yuan", "sources", "flags"),
    "reconciliation": (
        "station_id",
        "energy_source",
        "energy_wh",
        "meter_wh",
        "statement_wh",
        "statement_amount_yuan",
        "cash_now_yuan",
        "cash_vs_statement_yuan",
    ),
}
#: columns right-aligned as numbers
NUMERIC_SUFFIXES = ("_yuan", "_wh", "_fen", "_pct")
NUMERIC = frozenset({"members"})


_PERIOD = re.compile(r"^[0-9]{4}(-[0-9]{2}|Q[1-4])$")


def file_of(files: dict[str, bytes], table: str) -> str | None:
    """The name of a run's file for a table ("households" -> households-2026-08.csv)."""
    for name in sorted(files):
        rest = name.removeprefix(table + "-").removesuffix(".csv")
        if name.endswith(".csv") and rest != name and _PERIOD.match(rest):
            return name
    return None


def read_rows(data: bytes) -> list[dict[str, str]]:
    """A recorded CSV file's rows."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def village_of_row(config: Config) -> Callable[[dict[str, str]], str | None]:
    """A function naming a row's village: its village_id, else its station's or owner's.

    None for a check (it names no one's money); "" when it cannot tell (an unknown id,
    a file of another shape), so a village user is never shown a row by default.
    """
    stations, households = config.station_by_id, config.household_by_id
    coops = config.cooperative_by_id

    def of(row: dict[str, str]) -> str | None:
        if "check" in row:
            return None  # a check names no one's money
        if row.get("village_id"):
            return row["village_id"]
        if "table" in row and "key" in row and row["table"] in DIFF_TABLES:
            return diff_village(config, row["table"], row["key"])  # correction-PERIOD.csv
        if row.get("station_id") in stations:
            return stations[row["station_id"]].village
        if row.get("household_id") in households:
            return households[row["household_id"]].village
        if row.get("cooperative_id") in coops:
            return coops[row["cooperative_id"]].village
        return ""  # a row whose village is unknown: shown to no village user

    return of


def scoped(rows: list[dict[str, str]], allowed: frozenset[str], of) -> list[dict[str, str]]:
    """The rows of the allowed villages (rows of no village stay)."""
    return [r for r in rows if (v := of(r)) is None or v in allowed]


def table(
    files: dict[str, bytes], name: str, allowed: frozenset[str], config: Config
) -> list[dict[str, str]]:
    """A run's table as its recorded file has it, scoped to the allowed villages."""
    fname = file_of(files, name)
    if fname is None:
        return []
    return scoped(read_rows(files[fname]), allowed, village_of_row(config))


def filtered_csv(data: bytes, allowed: frozenset[str], config: Config) -> bytes:
    """A recorded CSV file with only the allowed villages' rows (header kept, BOM kept)."""
    text = data.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    rows = scoped(list(reader), allowed, village_of_row(config))
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=reader.fieldnames or [], lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    bom = "\ufeff" if data.startswith(b"\xef\xbb\xbf") else ""
    return (bom + out.getvalue()).encode("utf-8")


#: the tables a correction's lines name (revenue/diff.py)
DIFF_TABLES = frozenset({"stations", "households", "cooperatives", "villages"})


def diff_village(config: Config, table_name: str, key: str) -> str:
    """The village of one line of a correction's difference (revenue/diff.py keys)."""
    if table_name == "villages":
        return key.split("/", 1)[0]
    found = {
        "stations": config.station_by_id,
        "households": config.household_by_id,
        "cooperatives": config.cooperative_by_id,
    }[table_name].get(key)
    return found.village if found is not None else ""


def differences(config: Config, diff_json: str, allowed: frozenset[str]) -> list[dict[str, str]]:
    """A correction run's per-line differences (yuan), scoped to the allowed villages."""
    out = []
    for d in json.loads(diff_json or "[]"):
        if diff_village(config, d["table"], d["key"]) not in allowed:
            continue
        out.append(
            {
                "table": d["table"],
                "key": d["key"],
                "old_yuan": fen_to_yuan_str(int(d["old_fen"])),
                "new_yuan": fen_to_yuan_str(int(d["new_fen"])),
                "difference_yuan": fen_to_yuan_str(int(d["difference_fen"])),
            }
        )
    return out


def sources_yuan(sources: str) -> str:
    """ "coop-a=13991;s-hh-1=10810" [fen] -> "coop-a 139.91; s-hh-1 108.10" for people."""
    parts = (p.split("=", 1) for p in sources.split(";") if "=" in p)
    return "; ".join(f"{k} {fen_to_yuan_str(int(v))}" for k, v in parts)


def local_time(utc_text: str, tz: tzinfo) -> str:
    """A recorded UTC time ("2026-12-02T00:31:35.5Z") as site-local "2026-12-02 08:31:35"."""
    t = dt.datetime.fromisoformat(utc_text.replace("Z", "+00:00"))
    return t.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def total_fen(rows: list[dict[str, str]], column: str) -> int:
    """The sum of an integer fen column of recorded rows."""
    return sum(int(r[column]) for r in rows if r.get(column))


def is_numeric(column: str) -> bool:
    """Whether a column is shown right-aligned as a number."""
    return column in NUMERIC or column.endswith(NUMERIC_SUFFIXES)
