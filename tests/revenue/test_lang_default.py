"""`pvledger revenue` writes its xlsx in the config's site.language unless --lang says
otherwise (issue 15: the shipped fleet is zh; exports used to default to English)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pvledger.cli import main
from tests.revenue.helpers import setup_case


def _first_header(folder: Path) -> str:
    (xlsx,) = folder.glob("payouts-2026-07*.xlsx")
    wb = load_workbook(io.BytesIO(xlsx.read_bytes()))
    return wb.worksheets[0]["A1"].value


@pytest.mark.parametrize(
    ("language", "flag", "want"),
    [("zh", None, "电站编号"), ("en", None, "station_id"), ("en", "zh", "电站编号")],
)
def test_xlsx_headers_follow_site_language(tmp_path, language, flag, want) -> None:
    cfg = setup_case("worked-july", tmp_path)
    text = cfg.path.read_text(encoding="utf-8")
    assert "site: {name:" in text and "language" not in text, "the case's site line changed"
    cfg.path.write_text(
        text.replace("site: {", f"site: {{language: {language}, ", 1), encoding="utf-8"
    )
    out = tmp_path / "out"
    args = ["-c", str(cfg.path), "revenue", "--period", "2026-07", "--out", str(out)]
    assert main(args + (["--lang", flag] if flag else [])) == 0
    assert _first_header(out) == want
