"""Tariff and allocation rules are validated at load: bad ones are refused, never repaired."""

from __future__ import annotations

import shutil

import pytest

from core.config import load_config
from core.problems import BadInput
from tests.revenue.helpers import CASES


def _load_with(tmp_path, old: str, new: str, case: str = "worked-july"):
    shutil.copytree(CASES / case, tmp_path / case)
    p = tmp_path / case / "config.yaml"
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return load_config(p)


NEW_VILLAGE_TARIFF = """  - id: village-2026
    applies_to: {kind: village}
    shape: fixed-subsidy
    from: 2026-02-01
    components:
      - {name: coal_benchmark, yuan_per_kwh: "0.4143", payer: grid}
allocation:
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("allocation:\n", NEW_VILLAGE_TARIFF, "overlaps tariff"),
        ('yuan_per_kwh: "0.4143"', "yuan_per_kwh: 0.4143", "quoted"),
        ("    capacity_kw: 3\n", "    capacity_kw: 3\n    tariff_class: nope\n", "tariff_class"),
        (
            "  household:\n    - {from: 2018-01-01, approval: 测试县扶贫办〔2026〕1号}\n",
            "  household:\n    - {from: 2018-01-01}\n    - {from: 2026-01-01}\n",
            "overlaps rule 0",
        ),
        (
            "      posts:",
            "      legacy_beneficiary_share: {reference: x, households: [hh-1], "
            'yuan_per_household_per_month: "50"}\n      posts:',
            "policy_flag",
        ),
        ("{name: awards, remainder: true}", '{name: awards, percent: "10"}', "not 100"),
    ],
)
def test_bad_rules_are_refused(tmp_path, old, new, message):
    with pytest.raises(BadInput) as exc:
        _load_with(tmp_path, old, new)
    assert message in exc.value.render()


def test_tariff_gap_is_refused(tmp_path):
    shutil.copytree(CASES / "worked-july", tmp_path / "c")
    p = tmp_path / "c" / "config.yaml"
    text = p.read_text(encoding="utf-8")
    text = text.replace(
        "    from: 2018-01-01\n    total",
        "    from: 2018-01-01\n    until: 2026-01-01\n    total",
        1,
    ).replace("allocation:\n", NEW_VILLAGE_TARIFF, 1)
    p.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput) as exc:
        load_config(p)
    assert "gap after tariff 'village-2018'" in exc.value.render()


def test_case_configs_load(tmp_path):
    for case in ("worked-july", "worked-quarter", "several-schemes"):
        assert load_config(CASES / case / "config.yaml").allocation.energy.gap_limit_h == 16
