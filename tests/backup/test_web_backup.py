"""The web application's database (users, audit trail) is backed up and restored with
the rest: the restored site has the same users and an intact, verifiable audit trail."""

from __future__ import annotations

import json
from pathlib import Path

from tests.web.server import create_users, make_site, pvledger


def test_web_db_and_its_audit_head_survive_backup_and_restore(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    create_users(config, {"fin1": ("finance", []), "vil1": ("village", ["dongpi"])})
    out = pvledger(config, "users", "disable", "vil1")  # one more audited change
    assert out.returncode == 0, out.stderr

    out = pvledger(config, "backup", str(tmp_path / "bk"))
    assert out.returncode == 0, out.stderr
    (folder,) = (tmp_path / "bk").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    roles = {e["file"]: e["role"] for e in manifest["files"]}
    assert roles["data/web.db"] == "web"
    assert roles["data/web.db.head"] == "web-head"
    assert not any(f.endswith(".secret") for f in roles), "the secret key is not backed up"

    out = pvledger(config, "restore", "--to", str(tmp_path / "restored"), str(folder))
    assert out.returncode == 0, out.stderr
    restored = tmp_path / "restored" / "config.yaml"
    listed = pvledger(restored, "users", "list")
    assert listed.returncode == 0, listed.stderr
    assert "fin1" in listed.stdout and "vil1" in listed.stdout
    verify = pvledger(restored, "users", "verify-audit")
    assert verify.returncode == 0, verify.stdout + verify.stderr

    # the copy is what verify-audit checks: a truncated restored trail is caught
    (tmp_path / "restored" / "data" / "web.db.head").write_text("not a head\n")
    broken = pvledger(restored, "users", "verify-audit")
    assert broken.returncode == 1, broken.stdout + broken.stderr
