"""`pvledger restore`: a backup folder into a new, empty folder, proven before it is finished.

The backup is checked first (manifest and ledger, as `backup verify`); its files are
copied into a staging folder beside the target with a config.yaml whose paths point
at them; `revenue verify` runs there (through that config), the ledger head must be
the manifest's and every run file must be the ledger's bytes. Only then is the
staging folder moved to the target. Nothing is ever written over existing data.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from core import backup as bk
from pvledger.backup import DATABASES, ledger_head, verify_folder


class RestoreRefused(Exception):
    """The backup or the restored copy failed a check; the target was not created."""

    def __init__(self, what: str, problems: list[str]):
        self.problems = problems
        super().__init__(what)


@dataclass(frozen=True)
class RestoreResult:
    """What was restored."""

    folder: Path
    files: int
    ledger: dict | None


def _place(role: str) -> str:
    return next(rel for r, rel, _ in DATABASES if r == role)


def restored_config(text: str) -> str:
    """The backed-up config with its database and registry paths pointing into the folder.

    revenue.db and deadletter.db follow the store and outbox paths (they sit beside
    them), so the places in DATABASES line up.
    """
    raw = yaml.safe_load(text) or {}
    storage = dict(raw.get("storage") or {})
    storage["path"] = _place("store")
    storage["outbox_path"] = _place("outbox")
    raw["storage"] = storage
    alerts = dict(raw.get("alerts") or {})
    alerts["db_path"] = _place("alerts")
    raw["alerts"] = alerts
    web = dict(raw.get("web") or {})
    web["db_path"] = _place("web")
    raw["web"] = web
    om = dict(raw.get("om") or {})
    om["db_path"] = _place("workorders")
    raw["om"] = om
    if isinstance(raw.get("households"), str):
        raw["households"] = f"config/{Path(raw['households']).name}"
    body = yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)
    return (
        "# restored by `pvledger restore`: the backed-up config (config/config.yaml) with its\n"
        "# database and registry paths pointing into this folder\n" + body
    )


def target_problem(to: Path) -> str | None:
    """Why `to` cannot receive a restore (it exists and is not an empty folder), or None."""
    if not to.exists():
        return None
    if not to.is_dir():
        return f"{to} exists and is not a folder"
    if any(to.iterdir()):
        return f"{to} is not empty: restore only into a new or empty folder, never over data"
    return None


def restore(backup: Path, to: Path) -> RestoreResult:
    """Restore one backup folder into `to` (new or empty); RestoreRefused on any mismatch."""
    problems, manifest = verify_folder(backup)
    if problems:
        raise RestoreRefused(f"{backup}: the backup fails its check", problems)
    to = to.resolve()
    to.parent.mkdir(parents=True, exist_ok=True)
    staging = to.parent / f".{to.name}.restoring-{os.getpid()}"
    staging.mkdir()
    try:
        for e in bk.entries(manifest):
            dst = staging / e.file
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(backup / e.file, dst)
            if bk.sha256_file(dst) != e.sha256:
                raise RestoreRefused(f"{dst}: copy differs from the backup", [e.file])
        (staging / "config.yaml").write_text(
            restored_config((staging / "config" / "config.yaml").read_text(encoding="utf-8")),
            encoding="utf-8",
        )
        problems = _check_restored(staging, manifest)
        if problems:
            raise RestoreRefused(f"{to}: the restored copy fails its check", problems)
        _move_into(staging, to)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return RestoreResult(to, len(bk.entries(manifest)), manifest.get("ledger"))


def _check_restored(folder: Path, manifest: dict) -> list[str]:
    """`revenue verify` through the restored config, the head, and every run file's bytes."""
    from core.config import load_config
    from revenue.ledger import Ledger
    from revenue.payout import ledger_path

    config = load_config(folder / "config.yaml")
    path = ledger_path(config)
    if not path.is_file():
        return [] if manifest.get("ledger") is None else [f"{path}: the ledger was not restored"]
    with Ledger(path) as ledger:
        problems = list(ledger.verify())
        head = ledger_head(ledger)
        problems += bk.check_ledger_head(manifest, head["count"], head["head_hash"])
        recorded = {
            f"runs/{r.seq:04d}-{r.period}-{r.status}/{name}": content
            for r in ledger.runs()
            for name, content in ledger.files(r.seq).items()
        }
    for e in bk.entries(manifest):
        if e.file.startswith("runs/"):
            content = recorded.get(e.file)
            if content is None:
                problems.append(f"{e.file}: no such run file in the restored ledger")
            elif (folder / e.file).read_bytes() != content:
                problems.append(f"{e.file}: differs from the file the ledger recorded")
    return problems


def _move_into(staging: Path, to: Path) -> None:
    if not to.exists():
        os.rename(staging, to)
        return
    for child in staging.iterdir():  # an empty target, e.g. a mount point
        shutil.move(str(child), str(to / child.name))
    staging.rmdir()
