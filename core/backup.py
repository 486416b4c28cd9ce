"""Backup copies of pvledger's SQLite files: consistent copies, the manifest, pruning.

A backup is one dated folder ``pvledger-YYYYMMDDTHHMMSSZ`` holding ``manifest.json``
and the files it lists, each with its size and SHA-256. A live database is copied
through SQLite's online backup API in one step: that reads one consistent snapshot
while writers go on (WAL readers never block writers), where a file copy of a live
WAL database can pair a main file with the wrong WAL. The folder is built under a
``.partial-`` name and renamed when complete, so a folder without the dot prefix
and with a manifest is always a whole backup.

Pure helpers (names, pruning, manifest checks) take data and return data; the
callers in pvledger/commands/backup.py and restore.py do the I/O around them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
PREFIX = "pvledger-"
PARTIAL = ".partial-"
_NAME = re.compile(r"^pvledger-(\d{8}T\d{6}Z)(?:-(\d+))?$")
_CHUNK = 1 << 20


class BackupError(Exception):
    """A copy could not be made or checked (the message names the file)."""


@dataclass(frozen=True)
class FileEntry:
    """One file of a backup: its path inside the folder, role, size [bytes] and SHA-256."""

    file: str
    role: str
    size: int
    sha256: str
    source: str = ""


# -- names and pruning (pure) --------------------------------------------------------


def folder_name(now: dt.datetime, taken: Iterable[str] = ()) -> str:
    """``pvledger-YYYYMMDDTHHMMSSZ`` for a UTC time, with ``-N`` when that name is taken."""
    base = PREFIX + now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    used = set(taken)
    if base not in used:
        return base
    n = 2
    while f"{base}-{n}" in used:
        n += 1
    return f"{base}-{n}"


def _order(name: str) -> tuple[str, int]:
    m = _NAME.match(name)
    assert m, name
    return m.group(1), int(m.group(2) or 1)


def backup_names(names: Iterable[str]) -> list[str]:
    """The names that are complete backup folders, oldest first."""
    return sorted((n for n in names if _NAME.match(n)), key=_order)


def prune_plan(names: Iterable[str], keep: int) -> list[str]:
    """Backup folders to delete so that the newest ``keep`` remain (oldest first)."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    ordered = backup_names(names)
    return ordered[: max(0, len(ordered) - keep)]


# -- files -----------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def entry_for(folder: Path, rel: str, role: str, source: str = "") -> FileEntry:
    """The manifest entry of a file already written inside the backup folder."""
    path = folder / rel
    return FileEntry(rel, role, path.stat().st_size, sha256_file(path), source)


def copy_sqlite(src: Path, dst: Path) -> None:
    """Consistent copy of a (possibly live) SQLite database into a new single file.

    One backup step (``pages=-1``) copies a single snapshot under a read
    transaction; a stepwise copy would restart on every commit of a busy
    collector. The copy is switched to rollback-journal mode so it is one
    self-contained file, then checked with ``PRAGMA integrity_check``.
    """
    if not src.is_file():
        raise BackupError(f"{src}: no such database")
    if dst.exists():
        raise BackupError(f"{dst}: already exists; a copy never overwrites")
    dst.parent.mkdir(parents=True, exist_ok=True)
    # opened read-write but only read from: a read-only open of a WAL database
    # needs its -shm file, which the live writer owns
    source = sqlite3.connect(str(src), timeout=60)
    try:
        target = sqlite3.connect(str(dst))
        try:
            source.backup(target, pages=-1)
            target.execute("PRAGMA journal_mode=DELETE")
            problems = [r[0] for r in target.execute("PRAGMA integrity_check")]
        finally:
            target.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{src}: copy failed ({exc})") from exc
    finally:
        source.close()
    if problems != ["ok"]:
        raise BackupError(f"{src}: the copy fails integrity_check: {'; '.join(problems[:5])}")


# -- manifest ----------------------------------------------------------------------------


def manifest_dict(
    *,
    created_utc: str,
    config: str,
    files: Sequence[FileEntry],
    ledger: dict | None,
    absent: Sequence[tuple[str, str]] = (),
) -> dict:
    """The manifest as JSON-ready data (files sorted by path)."""
    return {
        "format": MANIFEST_FORMAT,
        "created_utc": created_utc,
        "config": config,
        "ledger": ledger,
        "files": [asdict(f) for f in sorted(files, key=lambda f: f.file)],
        "absent": [{"role": r, "source": s} for r, s in absent],
    }


def write_manifest(folder: Path, manifest: dict) -> None:
    """Write manifest.json (UTF-8, stable key order)."""
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    (folder / MANIFEST).write_text(text, encoding="utf-8")


def read_manifest(folder: Path) -> dict:
    """The manifest of a backup folder; BackupError when missing or unreadable."""
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{path}: no manifest (not a backup, or an unfinished one)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise BackupError(f"{path}: unknown manifest format {data.get('format')!r}")
    return data


def entries(manifest: dict) -> list[FileEntry]:
    """The file entries of a manifest."""
    return [FileEntry(**f) for f in manifest.get("files", [])]


def check_files(folder: Path, manifest: dict) -> list[str]:
    """Every file that is missing, extra, or differs in size or SHA-256; [] when intact."""
    problems = []
    listed = set()
    for e in entries(manifest):
        listed.add(e.file)
        path = folder / e.file
        if not path.is_file():
            problems.append(f"{e.file}: missing")
            continue
        size = path.stat().st_size
        if size != e.size:
            problems.append(f"{e.file}: {size} bytes, the manifest says {e.size}")
        elif sha256_file(path) != e.sha256:
            problems.append(f"{e.file}: SHA-256 differs from the manifest (changed or corrupt)")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel != MANIFEST and rel not in listed:
            problems.append(f"{rel}: not in the manifest")
    return problems


def check_ledger_head(manifest: dict, count: int, head_hash: str) -> list[str]:
    """A problem when the ledger copy's head differs from the one in the manifest."""
    want = manifest.get("ledger")
    if want is None:
        return []
    if (want.get("count"), want.get("head_hash")) != (count, head_hash):
        return [
            f"ledger head is {count} runs / {head_hash[:16]}, the manifest says "
            f"{want.get('count')} runs / {str(want.get('head_hash'))[:16]}"
        ]
    return []
