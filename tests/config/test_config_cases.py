"""Invalid configs refused with every problem named; the default fleet accepted.

Each folder in cases/ holds a config.yaml (and any registry file it names) and
expected.txt: a first line ``problems: N`` (the exact count) and then lines that
must each appear in the output of ``pvledger check``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pvledger.cli import main
from tests.conftest import ROOT
from tests.problems import assert_expected_problems

CASES = sorted(p for p in (Path(__file__).parent / "cases").iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_invalid_config_lists_every_problem(case: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["-c", str(case / "config.yaml"), "check"])
    out = capsys.readouterr()
    assert_expected_problems(case, code, out.out, out.err)


def test_default_config_passes_with_fleet_summary(capsys: pytest.CaptureFixture) -> None:
    assert main(["-c", str(ROOT / "config.yaml"), "check"]) == 0
    out = capsys.readouterr().out
    assert "villages  19" in out
    assert "village        19      1,900 kW" in out
    assert "household     202        606 kW" in out
    assert "2 cooperatives with 52 members" in out
    assert "mqtt" in out and "modbus-rtu" in out


def test_missing_config_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["-c", str(tmp_path / "nope.yaml"), "check"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_config_from_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("PVLEDGER_CONFIG", str(ROOT / "config.yaml"))
    assert main(["check"]) == 0
    assert "OK" in capsys.readouterr().out


def test_gbk_households_csv_is_read(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "hh.csv").write_bytes("id,name,village\nhh-1,张三,v1\n".encode("gbk"))
    (tmp_path / "config.yaml").write_text(
        "site: {name: t, latitude: 27.1, longitude: 114.9}\n"
        "villages: [{id: v1, name: V1}]\nhouseholds: hh.csv\n",
        encoding="utf-8",
    )
    assert main(["-c", str(tmp_path / "config.yaml"), "check"]) == 0
    assert "registry  1 households" in capsys.readouterr().out


def test_unknown_command_and_no_command_exit_2(capsys: pytest.CaptureFixture) -> None:
    assert main([]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
