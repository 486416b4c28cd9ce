"""site.language is the default language of notifications too (issue 15); an explicit
alerts.language still wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_config
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("site", "alerts", "want"),
    [("en", None, "en"), ("zh", None, "zh"), ("en", "zh", "zh"), ("zh", "en", "en")],
)
def test_alert_language_follows_the_site_unless_set(tmp_path: Path, site, alerts, want) -> None:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    # the shipped config sets both: site in its flow mapping, alerts on its own line
    assert text.count(", language: zh}") == 1 and text.count("\n  language: zh\n") == 1
    text = text.replace(", language: zh}", f", language: {site}}}", 1)
    text = text.replace("\n  language: zh\n", f"\n  language: {alerts}\n" if alerts else "\n", 1)
    (tmp_path / "registry").symlink_to(ROOT / "registry")
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    assert config.site.language == site
    assert config.alerts.language == want
