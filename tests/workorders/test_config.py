"""The om: section is validated at load: every problem named with its key, nothing repaired."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.problems import BadInput
from tests.workorders.helpers import om_config


@pytest.mark.parametrize(
    ("om", "where", "says"),
    [
        (
            "om:\n  people:\n    - {id: p1, name: P, role: caretaker, stations: [s-zz]}\n",
            "om.people[0].stations",
            "unknown station 's-zz'",
        ),
        (
            'om:\n  working_hours: {start: "18:00", end: "08:00"}\n',
            "om.working_hours",
            "must be before end",
        ),
        ("om:\n  open_on: {low_performance: 0}\n", "om", "no deadline"),
        ("om:\n  deadline_h: {no_output: 4}\n", "om", "'manual'"),
        (
            "om:\n  people:\n    - {id: c1, name: C, role: caretaker, contractor: nobody}\n",
            "om",
            "not a person with role contractor",
        ),
        ("om:\n  verify_daylight_min: 0\n", "om.verify_daylight_min", "greater than 0"),
    ],
)
def test_bad_om_sections_are_refused(tmp_path: Path, om: str, where: str, says: str):
    with pytest.raises(BadInput) as exc:
        om_config(tmp_path, om=om)
    text = str(exc.value)
    assert f"{where}: " in text and says in text, text  # the key path, with the line


def test_defaults_without_an_om_section(tmp_path: Path):
    cfg = om_config(tmp_path, om="")
    assert cfg.om.open_on["comm_lost"] == 7200 and cfg.om.deadline_h["manual"] == 72
    assert cfg.om.working_hours is None and cfg.om.people == []
