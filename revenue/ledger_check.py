"""`revenue verify`: everything that can be wrong with a ledger, each named (table, key).

Checked: guard triggers that were dropped; the chain (gaps, links, entry hashes); the head
file beside the database and any earlier head given (a run's ledger-head file); every run
row (its hash, the runs' own chain, its files) against its chain entry; every row of the
covered tables (revenue/ledger.py COVERED) against the entry that imported it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

from revenue.chain import GENESIS, Entry, Head, chain_problems, compare_head, contains_head
from revenue.ledger import COVERED, RUN_FIELDS, Ledger, outputs_hash, row_hash

MAX_PER_TABLE = 20  # a dropped table would list every row; the first ones and a count suffice


def problems(ledger: Ledger, heads: tuple[tuple[str, Head], ...] = ()) -> list[str]:
    """Every problem found; [] when the ledger is intact."""
    out = [
        f"trigger {t} had been dropped (recreated now): someone bypassed the append-only guard"
        for t in ledger.dropped_triggers
    ]
    entries = ledger.entries()
    out += chain_problems(entries)
    head = ledger.read_head()
    if head is None:
        what = "is not a head file" if ledger.head_path.exists() else "is missing (deleted?)"
        out.append(f"head: {ledger.head_path} {what}")
    else:
        out += compare_head(entries, head, ledger.head_path.name)
    for source, h in heads:
        out += contains_head(entries, h, source)
    out += run_problems(ledger, entries)
    out += row_problems(ledger, entries)
    return out


def run_problems(ledger: Ledger, entries: list[Entry]) -> list[str]:
    """Run rows: their hashes, the runs' own chain, their files, and the chain's run entries."""
    out, prev = [], GENESIS
    runs = ledger.runs()
    for r in runs:
        fields = {k: getattr(r, k) for k in RUN_FIELDS}
        if r.prev_hash != prev:
            out.append(f"run {r.seq}: prev_hash does not match run before it")
        if row_hash(fields) != r.hash:
            out.append(f"run {r.seq}: row content does not match its hash")
        files = ledger.files(r.seq)
        for n, sha in ledger.db.execute(
            "SELECT name, sha256 FROM run_files WHERE seq = ?", (r.seq,)
        ):
            if hashlib.sha256(files[n]).hexdigest() != sha:
                out.append(f"run {r.seq}: file {n} was changed")
        if outputs_hash(files) != r.outputs_hash:
            out.append(f"run {r.seq}: files do not match the recorded outputs hash")
        prev = r.hash
    seqs = [r.seq for r in runs]
    if seqs != list(range(1, len(seqs) + 1)):
        out.append("runs are missing from the sequence (deleted rows)")
    chained = {}
    for e in entries:
        if e.kind == "run":
            chained[int(e.ref)] = _json(e)
    have = {r.seq: r for r in runs}
    for seq in sorted(set(chained) - set(have)):
        c = chained[seq]
        out.append(f"runs: run {seq} ({c.get('period')} {c.get('status')}) was deleted")
    for seq in sorted(set(have) - set(chained)):
        out.append(f"runs: run {seq} ({have[seq].period}) is not in the chain (added outside)")
    for seq in sorted(set(have) & set(chained)):
        if chained[seq].get("hash") != have[seq].hash:
            out.append(f"runs: run {seq} ({have[seq].period}) differs from its chain entry")
    return out


def row_problems(ledger: Ledger, entries: list[Entry]) -> list[str]:
    """Rows of the covered tables against the chain: edited, deleted, added outside.

    One table at a time, rows as tuples, so a ledger of millions of readings fits in memory.
    """
    contents = [_json(e) for e in entries if e.kind in ("import", "migration")]
    files = {
        r.get("file_sha256"): r.get("file_name")
        for c in contents
        for table in ("meter_imports", "receipt_imports")
        for r in c.get(table, ())
        if isinstance(r, dict)
    }
    out = []
    for table, (cols, key_cols) in COVERED.items():
        at = [cols.index(k) for k in key_cols]
        want: dict[tuple, tuple] = {}
        for c in contents:
            for row in c.get(table, ()):
                if isinstance(row, dict):
                    t = tuple(row.get(col) for col in cols)
                    want[tuple(t[i] for i in at)] = t
        found: list[tuple[tuple, str]] = []
        q = f"SELECT {', '.join(cols)} FROM {table}"
        for got in ledger.db.execute(q):
            k = tuple(got[i] for i in at)
            was = want.pop(k, None)
            if was is None:
                found.append((k, "not in the chain (added outside pvledger)"))
            elif was != got:
                found += [
                    (k, f"{c} is {g!r}, the chain says {w!r} (edited; {_origin(cols, was, files)})")
                    for c, g, w in zip(cols, got, was, strict=True)
                    if g != w
                ]
        found += [(k, f"deleted ({_origin(cols, was, files)})") for k, was in want.items()]
        found.sort(key=lambda f: repr(f[0]))
        out += [f"{table} {_show(table, k)}: {msg}" for k, msg in found[:MAX_PER_TABLE]]
        if len(found) > MAX_PER_TABLE:
            out.append(f"{table}: ... and {len(found) - MAX_PER_TABLE} more")
    return out


def _json(e: Entry) -> dict:
    try:
        obj = json.loads(e.content)
    except ValueError:
        return {}  # an edited entry is reported by chain_problems
    return obj if isinstance(obj, dict) else {}


def _show(table: str, key: tuple) -> str:
    """A key for humans: (station, 2026-07-31T16:00:00Z) for a reading's ts_ms."""
    parts = []
    for col, v in zip(COVERED[table][1], key, strict=True):
        if col.endswith("_ms") and isinstance(v, int) and abs(v) < 10**15:
            v = dt.datetime.fromtimestamp(v / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts.append(str(v))
    return "(" + ", ".join(parts) + ")"


def _origin(cols: tuple[str, ...], row: tuple, files: dict) -> str:
    r = dict(zip(cols, row, strict=True))
    name = files.get(r.get("file_sha256")) or "an unknown file"
    line = r.get("line")
    return f"imported from {name}" + (f" line {line}" if line else "")


def summary(ledger: Ledger) -> dict[str, int]:
    """Counts for the verify report: runs, imports, statements, readings, chain entries."""
    q = ledger.db.execute
    return {
        "runs": q("SELECT count(*) FROM runs").fetchone()[0],
        "imports": q("SELECT count(*) FROM meter_imports").fetchone()[0],
        "statements": q("SELECT count(*) FROM meter_statements").fetchone()[0],
        "readings": q("SELECT count(*) FROM meter_readings").fetchone()[0],
        "accounts": q("SELECT count(*) FROM grid_accounts").fetchone()[0],
        "receipt_imports": q("SELECT count(*) FROM receipt_imports").fetchone()[0],
        "receipts": q("SELECT count(*) FROM receipts").fetchone()[0],
        "entries": q("SELECT count(*) FROM chain").fetchone()[0],
    }


#: the problems above (and revenue/chain.chain_problems'), pattern -> Chinese; the
#: ledger check page shows them in the site's language, the command line in English
_PROBLEMS_ZH: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), zh)
    for p, zh in (
        (
            r"trigger (\S+) had been dropped \(recreated now\): "
            r"someone bypassed the append-only guard",
            r"触发器 \1 曾被删除（现已重建）：有人绕过了只追加保护",
        ),
        (r"head: (.+) is not a head file", r"头文件 \1 不是有效的头文件"),
        (r"head: (.+) is missing \(deleted\?\)", r"头文件 \1 缺失（被删除？）"),
        (
            r"run (\d+): prev_hash does not match run before it",
            r"结算批次 \1：prev_hash 与上一批次不符",
        ),
        (r"run (\d+): row content does not match its hash", r"结算批次 \1：记录内容与其哈希不符"),
        (r"run (\d+): file (.+) was changed", r"结算批次 \1：文件 \2 已被改动"),
        (
            r"run (\d+): files do not match the recorded outputs hash",
            r"结算批次 \1：文件与记录的输出哈希不符",
        ),
        (r"runs: run (\d+) \((.+)\) was deleted", r"结算批次 \1（\2）已被删除"),
        (
            r"runs: run (\d+) \((.+)\) is not in the chain \(added outside\)",
            r"结算批次 \1（\2）不在哈希链中（在链外添加）",
        ),
        (
            r"runs: run (\d+) \((.+)\) differs from its chain entry",
            r"结算批次 \1（\2）与其链记录不同",
        ),
        (
            r"chain: entry (\d+) is missing \(next is (\d+)\): deleted",
            r"哈希链：第 \1 条缺失（下一条为 \2）：已被删除",
        ),
        (
            r"chain entry (.+?): does not link to the entry before it",
            r"哈希链记录 \1：未链接到上一条",
        ),
        (
            r"chain entry (.+?): content does not match its hash \(edited\)",
            r"哈希链记录 \1：内容与其哈希不符（被改动）",
        ),
        (
            r"(\S+) (\(.*\)): not in the chain \(added outside pvledger\)",
            r"\1 \2：不在哈希链中（在 pvledger 之外添加）",
        ),
        (
            r"(\S+) (\(.*\)): (\S+) is (.+), the chain says (.+) "
            r"\(edited; imported from (.+?)( line (\d+))?\)",
            r"\1 \2：\3 为 \4，哈希链记为 \5（被改动；导入自 \6\7）",
        ),
        (
            r"(\S+) (\(.*\)): deleted \(imported from (.+?)( line (\d+))?\)",
            r"\1 \2：已被删除（导入自 \3\4）",
        ),
        (r"(\S+): \.\.\. and (\d+) more", r"\1：……另有 \2 条"),
    )
)


def problem_zh(problem: str) -> str:
    """A problem of ``problems`` in Chinese (a text of no known form is returned as it is)."""
    for pattern, zh in _PROBLEMS_ZH:
        if pattern.fullmatch(problem):
            text = pattern.sub(zh, problem)
            text = re.sub(r" line (\d+)", r" 第 \1 行", text)  # of "imported from f line n"
            return text.replace("an unknown file", "未知文件")
    return problem
