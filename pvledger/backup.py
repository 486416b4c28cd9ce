"""`pvledger backup`: a consistent copy of every database, the run files and the ledger head.

What is copied is data (DATABASES, CONFIG_FILES); how is core/backup.py. A backup folder:

    pvledger-20261201T190000Z/
      manifest.json                 file, role, size, SHA-256 of everything below; ledger head
      data/pvledger.db ...          one consistent copy per database (SQLite backup API)
      data/revenue.db.head          the ledger's head file, when the ledger keeps one
      runs/0003-2026-07-final/...   every recorded run's files, exported from the ledger copy
      config/config.yaml ...        the config and the registry files it names

Nothing here writes to a live database; the ledger copy is opened (by revenue.ledger,
which may migrate it) only as a scratch copy in a temporary folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core import backup as bk
from core.config import Config
from core.retention import cutoff_day, day_number

log = logging.getLogger("pvledger.backup")


def _store(c: Config) -> Path:
    return c.resolve(c.storage.path)


def _outbox(c: Config) -> Path:
    return c.resolve(c.storage.outbox_path)


def _alerts(c: Config) -> Path:
    return c.resolve(c.alerts.db_path)


def _dead_letters(c: Config) -> Path:
    from collector.mqtt.ingest import dead_letter_path

    return dead_letter_path(c)


def _web(c: Config) -> Path:
    return c.resolve(c.web.db_path)


def _workorders(c: Config) -> Path:
    return c.resolve(c.om.db_path)


def _ledger(c: Config) -> Path:
    from revenue.payout import ledger_path

    return ledger_path(c)


#: every SQLite file pvledger writes: role, its place in a backup, where the config puts it.
#: The place names are fixed so a restored config can point at them (restore.py).
DATABASES: tuple[tuple[str, str, Callable[[Config], Path]], ...] = (
    ("store", "data/pvledger.db", _store),
    ("outbox", "data/outbox.db", _outbox),
    ("deadletter", "data/deadletter.db", _dead_letters),
    ("alerts", "data/alerts.db", _alerts),
    ("ledger", "data/revenue.db", _ledger),
    ("web", "data/web.db", _web),
    ("workorders", "data/workorders.db", _workorders),
)
#: the web database's audit trail keeps its head file beside it too (web/audit.py); its
#: secret key file is not copied: a restored site makes a new one (everyone logs in again)
WEB_FILE = "data/web.db"
LEDGER_FILE = "data/revenue.db"
#: small files kept beside a database and written by its owner after each commit
HEAD_SUFFIX = ".head"
#: attempts at a ledger copy whose head file did not change while it was copied
LEDGER_ATTEMPTS = 5


@dataclass
class BackupResult:
    """What one backup run made."""

    folder: Path
    files: list[bk.FileEntry]
    ledger: dict | None
    seconds: float
    pruned: list[str] = field(default_factory=list)
    dropped_days: list[int] = field(default_factory=list)

    @property
    def size_bytes(self) -> int:
        """Bytes in the backup. [bytes]"""
        return sum(f.size for f in self.files)


# -- the ledger, through revenue.ledger on a scratch copy ---------------------------------


@contextlib.contextmanager
def scratch_ledger(db_file: Path) -> Iterator[object]:
    """revenue.ledger.Ledger opened on a temporary copy of a (non-live) ledger file."""
    from revenue.ledger import Ledger

    with tempfile.TemporaryDirectory(prefix="pvledger-ledger-") as tmp:
        work = Path(tmp) / "revenue.db"
        shutil.copyfile(db_file, work)
        head = db_file.with_name(db_file.name + HEAD_SUFFIX)
        if head.is_file():
            shutil.copyfile(head, work.with_name(work.name + HEAD_SUFFIX))
        ledger = Ledger(work)
        try:
            yield ledger
        finally:
            ledger.close()


def ledger_head(ledger: object) -> dict:
    """Number of entries and last hash of the ledger's chain (revenue.ledger.Ledger.head)."""
    h = ledger.head()  # type: ignore[attr-defined]
    return {"count": int(h.entries), "head_hash": str(h.hash), "of": "chain"}


def check_ledger(db_file: Path, manifest: dict | None = None) -> tuple[list[str], dict]:
    """`revenue verify` on a copy of the ledger; with a manifest, its head must match."""
    with scratch_ledger(db_file) as ledger:
        problems = list(ledger.verify())  # type: ignore[attr-defined]
        head = ledger_head(ledger)
    if manifest is not None:
        problems += bk.check_ledger_head(manifest, head["count"], head["head_hash"])
    return problems, head


def export_runs(db_file: Path, folder: Path) -> list[tuple[str, str]]:
    """Write every recorded run's files under runs/; (path in folder, role) of each."""
    out = []
    with scratch_ledger(db_file) as ledger:
        for r in ledger.runs():  # type: ignore[attr-defined]
            sub = f"runs/{r.seq:04d}-{r.period}-{r.status}"
            for name, content in ledger.files(r.seq).items():  # type: ignore[attr-defined]
                (folder / sub).mkdir(parents=True, exist_ok=True)
                (folder / sub / name).write_bytes(content)
                out.append((f"{sub}/{name}", f"run-{r.status}"))
    return out


def _copy_ledger(src: Path, dst: Path) -> dict:
    """The ledger and its head file as one consistent pair.

    The ledger writes its head file after each commit; a copy is kept when the head
    file did not change while the database was copied and the pair verifies. A ledger
    that still fails after LEDGER_ATTEMPTS is copied as it is (evidence for an audit):
    `backup` and `backup verify` then exit 1 naming its problems.
    """
    head_src = src.with_name(src.name + HEAD_SUFFIX)
    head_dst = dst.with_name(dst.name + HEAD_SUFFIX)
    for attempt in range(1, LEDGER_ATTEMPTS + 1):
        before = _read(head_src)
        bk.copy_sqlite(src, dst)
        after = _read(head_src)
        if after is not None:
            head_dst.write_bytes(after)
        if before == after:
            problems, head = check_ledger(dst)
            if not problems or attempt == LEDGER_ATTEMPTS:
                if problems:
                    log.error("%s fails its check; copied as it is: %s", src, "; ".join(problems))
                return head
        if attempt < LEDGER_ATTEMPTS:
            dst.unlink()
            head_dst.unlink(missing_ok=True)
    raise bk.BackupError(
        f"{src}: its head file changed during each of {LEDGER_ATTEMPTS} copies; try again"
    )


def _copy_with_head(src: Path, dst: Path) -> bool:
    """A database and its head file as a pair that did not change while copied.

    True when a head file was copied. After LEDGER_ATTEMPTS busy copies the last pair
    is kept: the audit check (`pvledger users verify-audit`) then names any mismatch.
    """
    head_src = src.with_name(src.name + HEAD_SUFFIX)
    head_dst = dst.with_name(dst.name + HEAD_SUFFIX)
    for _ in range(LEDGER_ATTEMPTS):
        before = _read(head_src)
        bk.copy_sqlite(src, dst)
        after = _read(head_src)
        if before == after:
            break
        dst.unlink()
    if after is not None:
        head_dst.write_bytes(after)
    return after is not None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


# -- config files ----------------------------------------------------------------------


def config_files(config: Config) -> list[tuple[Path, str]]:
    """(source, name in config/) of the config file and the registry files it names."""
    import yaml

    out = [(config.path, "config.yaml")]
    raw = yaml.safe_load(config.path.read_text(encoding="utf-8")) or {}
    households = raw.get("households")
    if isinstance(households, str):
        out.append((config.resolve(households), Path(households).name))
    return out


# -- backup ----------------------------------------------------------------------------


def make_backup(config: Config, root: Path, *, now: dt.datetime | None = None) -> BackupResult:
    """Write one complete backup folder under root; BackupError when anything fails."""
    t0 = time.monotonic()
    now = now or dt.datetime.now(dt.UTC)
    root.mkdir(parents=True, exist_ok=True)
    name = bk.folder_name(now, os.listdir(root))
    staging = root / f"{bk.PARTIAL}{name}"
    if staging.exists():
        raise bk.BackupError(f"{staging}: another backup is writing here")
    staging.mkdir()
    try:
        files, absent, ledger = _fill(config, staging)
        manifest = bk.manifest_dict(
            created_utc=now.astimezone(dt.UTC).isoformat(timespec="seconds"),
            config=str(config.path),
            files=files,
            ledger=ledger,
            absent=absent,
        )
        bk.write_manifest(staging, manifest)
        _fsync_tree(staging)
        folder = root / name
        os.rename(staging, folder)
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BackupResult(folder, files, ledger, time.monotonic() - t0)


def _fill(
    config: Config, folder: Path
) -> tuple[list[bk.FileEntry], list[tuple[str, str]], dict | None]:
    files: list[bk.FileEntry] = []
    absent: list[tuple[str, str]] = []
    ledger = None
    for role, rel, where in DATABASES:
        src = where(config)
        if not src.is_file():
            absent.append((role, str(src)))
            continue
        dst = folder / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if rel == LEDGER_FILE:
            ledger = _copy_ledger(src, dst)
            if dst.with_name(dst.name + HEAD_SUFFIX).is_file():
                head_src = src.with_name(src.name + HEAD_SUFFIX)
                files.append(bk.entry_for(folder, rel + HEAD_SUFFIX, "ledger-head", str(head_src)))
            for path, kind in export_runs(dst, folder):
                files.append(bk.entry_for(folder, path, kind))
        elif rel == WEB_FILE:
            if _copy_with_head(src, dst):
                head_src = src.with_name(src.name + HEAD_SUFFIX)
                files.append(bk.entry_for(folder, rel + HEAD_SUFFIX, "web-head", str(head_src)))
        else:
            bk.copy_sqlite(src, dst)
        files.append(bk.entry_for(folder, rel, role, str(src)))
        log.debug("copied %s (%s)", src, role)
    for src, name in config_files(config):
        dst = folder / "config" / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        files.append(bk.entry_for(folder, f"config/{name}", "config", str(src)))
    return files, absent, ledger


def _fsync_tree(folder: Path) -> None:
    # a backup is for the day the disk dies: have it on the platter before we say so
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    for d in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        _fsync_dir(d)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- verify, prune, retention --------------------------------------------------------------


def verify_folder(folder: Path) -> tuple[list[str], dict]:
    """Manifest sizes and hashes, then `revenue verify` on the ledger copy; (problems, manifest)."""
    manifest = bk.read_manifest(folder)
    problems = bk.check_files(folder, manifest)
    ledger_listed = any(e.file == LEDGER_FILE for e in bk.entries(manifest))
    if ledger_listed and (folder / LEDGER_FILE).is_file():
        try:
            ledger_problems, _ = check_ledger(folder / LEDGER_FILE, manifest)
        except Exception as exc:  # a corrupt copy must report, not crash the check
            ledger_problems = [f"{LEDGER_FILE}: cannot be opened as a ledger ({exc})"]
        problems += [f"ledger: {p}" for p in ledger_problems]
    return problems, manifest


def folders_to_verify(path: Path) -> list[Path]:
    """A backup folder itself, or every complete backup folder inside path (oldest first)."""
    if (path / bk.MANIFEST).exists():
        return [path]
    if not path.is_dir():
        raise bk.BackupError(f"{path}: no such folder")
    found = [path / n for n in bk.backup_names(os.listdir(path))]
    if not found:
        raise bk.BackupError(f"{path}: neither a backup (no manifest.json) nor a folder of backups")
    return found


def prune(root: Path, keep: int) -> list[str]:
    """Delete the oldest complete backups so that keep remain; names deleted."""
    gone = bk.prune_plan(os.listdir(root), keep)
    for n in gone:
        shutil.rmtree(root / n)
    return gone


def apply_retention(config: Config, today: dt.date | None = None) -> list[int]:
    """Drop raw-sample days the retention allows and the county acknowledged; days dropped."""
    days = config.storage.raw_retention_days
    store_path = _store(config)
    if days is None or not store_path.is_file():
        return []
    from collector.forward.horizon import NoOutbox, oldest_unacknowledged_ms
    from core.store import SqliteStore

    tz = config.site.tz
    try:
        oldest_ms = oldest_unacknowledged_ms(_outbox(config))
    except NoOutbox:
        log.warning(
            "raw retention: %s does not exist, so nothing is known to be acknowledged by "
            "the county; no raw day is dropped",
            _outbox(config),
        )
        return []
    oldest = None
    if oldest_ms is not None:
        oldest = dt.datetime.fromtimestamp(oldest_ms / 1000, tz=tz).date()
    today = today or dt.datetime.now(tz).date()
    first_kept = cutoff_day(today, days, oldest)
    store = SqliteStore(store_path, timezone=config.site.timezone)
    try:
        return store.drop_raw_days_before(day_number(first_kept))
    finally:
        store.close()
