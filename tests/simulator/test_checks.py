"""`pvledger simulate` refuses a config whose simulated devices cannot be served: an
unknown profile, or a profile of another map than the device is read with (checked by
the simulator itself, so a gateway's `pvledger check` never loads it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pvledger.cli import main
from tests.conftest import ROOT
from tests.problems import assert_expected_problems

CASE = Path(__file__).parent / "cases" / "simulate_profile"


def test_simulate_refuses_unknown_or_mismatched_profiles(capsys: pytest.CaptureFixture) -> None:
    code = main(["-c", str(CASE / "config.yaml"), "simulate", "--backfill-days", "1"])
    out = capsys.readouterr()
    assert_expected_problems(CASE, code, out.out, out.err)
    assert not (CASE / "data").exists()  # refused before anything was written


def test_backfill_past_the_plausibility_horizon_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(["-c", str(ROOT / "config.yaml"), "simulate", "--backfill-days", "500"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--backfill-days" in err and "backfill_horizon_days" in err
