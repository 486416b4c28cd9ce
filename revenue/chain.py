"""The ledger's hash chain and its head: pure functions and the head file.

One chain covers every record a payout rests on: each payout run, each import (its
meter_imports row and every statement, reading and account row it added), in the order
they were recorded. An entry's hash covers its kind, reference, content (canonical JSON of
the rows it covers), time and the previous entry's hash. The head (number of entries and
the last hash) is also kept outside the database, in a head file beside revenue.db and in
each run's folder, so a truncated or rebuilt chain is seen (revenue/ledger.py verify).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

GENESIS = "0" * 64
HEAD_TITLE = "pvledger ledger head"


@dataclass(frozen=True)
class Entry:
    """One chain entry."""

    seq: int
    kind: str  # run | import | migration
    ref: str  # run seq, an import's file_sha256, or "migration"
    content: bytes  # canonical JSON of what the entry covers
    recorded_at: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Head:
    """The chain's length and last hash."""

    entries: int
    hash: str


def canonical(obj: object) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces, UTF-8)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(seq: int, kind: str, ref: str, content: bytes, recorded_at: str, prev: str) -> str:
    """SHA-256 over an entry's fields and the SHA-256 of its content."""
    fields = {
        "seq": seq,
        "kind": kind,
        "ref": ref,
        "content_sha256": hashlib.sha256(content).hexdigest(),
        "recorded_at": recorded_at,
        "prev_hash": prev,
    }
    return hashlib.sha256(canonical(fields)).hexdigest()


def chain_problems(entries: list[Entry]) -> list[str]:
    """Breaks inside the chain: gaps, broken links, content not matching its hash."""
    problems, prev = [], GENESIS
    for i, e in enumerate(entries, start=1):
        what = f"chain entry {e.seq} ({e.kind} {e.ref[:12]})"
        if e.seq != i:
            problems.append(f"chain: entry {i} is missing (next is {e.seq}): deleted")
        if e.prev_hash != prev:
            problems.append(f"{what}: does not link to the entry before it")
        if entry_hash(e.seq, e.kind, e.ref, e.content, e.recorded_at, e.prev_hash) != e.hash:
            problems.append(f"{what}: content does not match its hash (edited)")
        prev = e.hash
    return problems


def head_of(entries: list[Entry]) -> Head:
    """The head of a chain (0 entries: the genesis hash)."""
    return Head(len(entries), entries[-1].hash if entries else GENESIS)


def compare_head(entries: list[Entry], head: Head, source: str) -> list[str]:
    """Does the chain contain the head written to `source` (and nothing unrecorded after it)?"""
    have = head_of(entries)
    if have == head:
        return []
    tip = f"the ledger has {have.entries} entries ending {have.hash[:12]}"
    said = f"{source} says {head.entries} entries ending {head.hash[:12]}"
    if have.entries < head.entries:
        return [f"head: {said}, {tip}: entries were removed (ledger truncated)"]
    if contains_head(entries, head, source):
        return [f"head: {said}, {tip}: the chain was rebuilt"]
    return [
        f"head: {said}, {tip}: entries {head.entries + 1}..{have.entries} were added "
        "after the head was written (not by pvledger, or it stopped before writing the head)"
    ]


def contains_head(entries: list[Entry], head: Head, source: str) -> list[str]:
    """Does the chain still hold an earlier head (a run's copy): same hash at that length?"""
    if head.entries > len(entries):
        return [
            f"head: {source} says {head.entries} entries, the ledger has only {len(entries)}: "
            "entries were removed (ledger truncated)"
        ]
    at = entries[head.entries - 1].hash if head.entries else GENESIS
    if at != head.hash:
        return [
            f"head: {source} says entry {head.entries} is {head.hash[:12]}, the ledger has "
            f"{at[:12]}: the chain was rebuilt"
        ]
    return []


def render_head(head: Head, **extra: object) -> str:
    """The text of a head file: a title line and `key: value` lines."""
    lines = [HEAD_TITLE, f"entries: {head.entries}", f"hash: {head.hash}"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def parse_head(text: str) -> Head | None:
    """A Head from a head file's text, None when it is not one."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != HEAD_TITLE:
        return None
    kv = dict(ln.split(": ", 1) for ln in lines[1:] if ": " in ln)
    entries, h = kv.get("entries", ""), kv.get("hash", "").strip()
    if not entries.strip().isdigit() or len(h) != 64:
        return None
    return Head(int(entries), h)


def write_atomic(path: Path, text: str) -> None:
    """Replace a small file atomically (tmp file, fsync, rename, fsync the folder)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
