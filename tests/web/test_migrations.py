"""The committed migrations create exactly what the models say (a fresh machine migrates)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.web.server import cli_env, make_site

_CHECK = """
import sys
from core.config import load_config
from web.setup import configure
configure(load_config(sys.argv[1]), migrate=False)
from django.core.management import call_command
call_command("makemigrations", check=True, dry_run=True, verbosity=1)
call_command("check", fail_level="WARNING")
"""


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    r = subprocess.run(
        [sys.executable, "-c", _CHECK, str(config)],
        capture_output=True,
        text=True,
        cwd=config.parent,
        env=cli_env(),
        timeout=180,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No changes detected" in r.stdout
