"""The web: section and site.language are validated at load; the signing key's two sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_config
from core.problems import BadInput
from tests.web.server import make_site, pvledger


@pytest.mark.parametrize(
    ("web", "where"),
    [
        ({"session_hours": 0}, "web.session_hours"),
        ({"lockout_failures": 0}, "web.lockout_failures"),
        ({"behind_tls": "sometimes"}, "web.behind_tls"),
        ({"secret_key_env": "lower-case"}, "web.secret_key_env"),
        ({"db_path": "../../elsewhere/web.db"}, "web.db_path"),
        ({"sesion_hours": 8}, "web.sesion_hours"),
    ],
)
def test_bad_web_keys_are_refused_with_their_path(tmp_path: Path, web: dict, where: str) -> None:
    config = make_site(tmp_path / "site", web)
    with pytest.raises(BadInput) as e:
        load_config(config)
    assert any(p.where == where for p in e.value.problems), e.value.render()


def test_site_language_is_zh_or_en(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    assert load_config(config).site.language == "zh"
    config.write_text(config.read_text().replace("language: zh", "language: fr"))
    with pytest.raises(BadInput) as e:
        load_config(config)
    assert any(p.where == "site.language" for p in e.value.problems)


def test_the_signing_key_from_a_variable(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site", {"secret_key_env": "PVLEDGER_WEB_SECRET"})
    r = pvledger(config, "users", "list")
    assert r.returncode == 2
    assert "web.secret_key_env" in r.stderr and "$PVLEDGER_WEB_SECRET is unset" in r.stderr
    r = pvledger(config, "users", "list", env={"PVLEDGER_WEB_SECRET": "k" * 48})
    assert r.returncode == 0, r.stderr
    assert not (config.parent / "data" / "web.db.secret").exists()
