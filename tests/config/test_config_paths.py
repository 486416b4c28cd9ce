"""Paths in the config stay inside its folder unless absolute; no file's contents are echoed.

Issue 12, seen 7: ``households: ../../../../../etc/passwd`` was read and its first
line printed in the error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_config
from core.problems import BadInput
from pvledger.cli import main

SITE = "site: {name: t, latitude: 27.1, longitude: 114.9}\nvillages: [{id: v1, name: V1}]\n"
#: a file that is not a registry, standing in for /etc/passwd or a key file
SECRET_LINE = "zq7user:x:0:0:hunter2-not-a-column:/home/zq7:/bin/zq7sh"


def _config(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(SITE + body, encoding="utf-8")
    return path


def _check(path: Path, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    code = main(["-c", str(path), "check"])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_households_escaping_the_folder_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET_LINE + "\n", encoding="utf-8")
    depth = len(tmp_path.parts)  # enough ../ to reach / from tmp_path/etc/pvledger
    escape = "../" * (depth + 3) + str(secret).lstrip("/")
    cfg = _config(tmp_path / "etc" / "pvledger", f"households: {escape}\n")
    code, out = _check(cfg, capsys)
    assert code == 2
    assert "config.yaml:3: households: relative path" in out
    assert "leads outside the config's folder" in out
    assert "fix: write households as a path inside" in out
    assert "hunter2" not in out and "zq7" not in out


def test_etc_passwd_as_written_in_the_issue(tmp_path: Path, capsys) -> None:
    cfg = _config(tmp_path, "households: ../../../../../etc/passwd\n")
    code, out = _check(cfg, capsys)
    assert code == 2 and "leads outside the config's folder" in out
    first_line = Path("/etc/passwd").read_text().splitlines()[0]
    assert first_line not in out and first_line.split(":")[0] + ":x" not in out


def test_absolute_path_to_a_non_registry_file_quotes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """An absolute path is the operator's choice and is read, but the error says only
    file, line and column number: the first row may be anything."""
    secret = tmp_path / "elsewhere" / "key.txt"
    secret.parent.mkdir()
    secret.write_text(f"{SECRET_LINE},x\nsecond line,with,cells\n", encoding="utf-8")
    cfg = _config(tmp_path / "cfg", f"households: {secret}\n")
    code, out = _check(cfg, capsys)
    assert code == 2
    assert f"{secret}:1: header: missing column(s) id, name, village" in out
    assert f"{secret}:1: header: column(s) 1, 2 of the first row are not households columns" in out
    for text in ("hunter2", "zq7", "second line", "cells"):
        assert text not in out, text


@pytest.mark.parametrize(
    ("key", "body"),
    [
        ("storage.path", "storage: {path: ../../var/other.db}\n"),
        ("storage.outbox_path", "storage: {outbox_path: data/../../outbox.db}\n"),
        ("alerts.db_path", "alerts: {db_path: ../alerts.db}\n"),
        ("mqtt.tls.key_file", "mqtt: {tls: {key_file: ../../../root/.ssh/id_ed25519}}\n"),
        (
            "stations[0].devices[0].port",
            "stations: [{id: s1, kind: village, capacity_kw: 100, owner: v1, village: v1,"
            " devices: [{id: d1, source: modbus-rtu, port: ../dev/ttyUSB0, map: sunspec}]}]\n",
        ),
    ],
)
def test_every_path_key_is_confined(
    tmp_path: Path, capsys: pytest.CaptureFixture, key: str, body: str
) -> None:
    code, out = _check(_config(tmp_path / "cfg", body), capsys)
    assert code == 2
    assert f"{key}: relative path" in out and "leads outside the config's folder" in out
    assert f"fix: write {key.rsplit('.', 1)[-1]} as a path inside" in out


def test_paths_inside_and_absolute_paths_are_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    (folder / "registry").mkdir(parents=True)
    (folder / "registry" / "hh.csv").write_text("id,name,village\nhh-1,张三,v1\n")
    cfg = _config(
        folder,
        "households: registry/../registry/hh.csv\n"
        f"storage: {{path: {tmp_path / 'var' / 'pv.db'}, outbox_path: ./data/outbox.db}}\n",
    )
    config = load_config(cfg)
    assert [h.id for h in config.households] == ["hh-1"]
    assert config.resolve(config.storage.path) == tmp_path / "var" / "pv.db"
    assert config.resolve(config.storage.outbox_path) == folder / "data" / "outbox.db"


def test_resolve_refuses_an_escaping_command_line_path(tmp_path: Path) -> None:
    """Config.resolve is also what command-line paths go through (collect --sim-clock)."""
    config = load_config(_config(tmp_path / "cfg", ""))
    assert config.resolve("run/sim-clock.json") == tmp_path / "cfg" / "run" / "sim-clock.json"
    with pytest.raises(BadInput, match="leads outside the config's folder"):
        config.resolve("../../sim-clock.json")


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("folder", lambda p: p.mkdir(), "cannot read registry file"),
        ("nul", None, "contains a NUL character"),
    ],
)
def test_unreadable_registry_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture, name: str, make, message: str
) -> None:
    target = tmp_path / "cfg" / "registry"
    (tmp_path / "cfg").mkdir()
    if make is not None:
        make(target)
    value = "registry" if make is not None else '"registry\\0.csv"'
    code, out = _check(_config(tmp_path / "cfg", f"households: {value}\n"), capsys)
    assert code == 2 and message in out and "Traceback" not in out
