"""The web package is a wiring package: the libraries never import it (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

LIBRARIES = ("core", "collector", "alerts", "simulator", "revenue")


def imported(path: Path) -> set[str]:
    """Top-level package names a module imports."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
    return out


def test_libraries_do_not_import_web() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for lib in LIBRARIES
        for p in sorted((ROOT / lib).rglob("*.py"))
        if "web" in imported(p)
    ]
    assert offenders == []
    assert imported(ROOT / "pvledger" / "commands" / "users.py") >= {
        "web"
    }  # the check sees imports


def test_web_imports_no_simulator_or_collector() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "web").rglob("*.py"))
        if imported(p) & {"simulator", "collector"}
    ]
    assert offenders == []
