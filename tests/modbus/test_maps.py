"""Register maps: every shipped map validates; a bad map is refused with every problem;
the planner merges within limits and keeps scale factors with their values."""

from __future__ import annotations

import pytest

from collector.modbus.decode import decode_point
from collector.modbus.plan import Slot, naive_request_count, plan_requests
from collector.modbus.regmap import MAPS_DIR, Limits, Point, load_map, map_names, parse_map
from collector.modbus.sunspec import place_points, typical
from core.problems import BadInput
from core.reading import Quality
from tests.modbus.conftest import CASES

#: every map file in the shipped folder: a new map is tested by being there
SHIPPED = sorted(p.stem for p in MAPS_DIR.glob("*.yaml"))


def test_every_field_is_checked_or_listed_as_unconfirmed() -> None:
    import yaml

    from collector.modbus.regmap import map_dirs

    for name in SHIPPED:
        rmap = load_map(name)
        pts = rmap.points or tuple(p for m in rmap.models.values() for p in m.points)
        raw = yaml.safe_load((map_dirs()[-1] / f"{name}.yaml").read_text())
        if not all(p.checked for p in pts):
            assert raw.get("unconfirmed"), f"{name}: unchecked fields but no unconfirmed: note"
        assert rmap.signatures, f"{name}: no probe signature"


def test_fault_text_names_vendor_code_and_meaning_in_both_languages() -> None:
    from collector.modbus.regmap import fault_text

    sg = load_map("sungrow-sg")
    assert fault_text(sg, 2) == "Sungrow fault 0x0002: grid overvoltage"
    assert fault_text(sg, 2, "zh") == "阳光电源 故障 0x0002：电网过压"
    assert fault_text(sg, 0x7777).startswith("Sungrow fault 0x7777: ")
    for name in SHIPPED:  # every text present in both languages
        for code, t in load_map(name).faults.items():
            assert t.en and t.zh, (name, code)


def test_mask_keeps_the_low_byte_before_the_enum() -> None:
    p = Point("status", 4, 0, "uint16", 1, enum={1: 1, 3: 3}, mask=0x00FF)
    assert decode_point([0x0501], Slot(p, 0, None)) == (1, Quality.GOOD)
    assert decode_point([0x0503], Slot(p, 0, None)) == (3, Quality.GOOD)
    assert decode_point([0x0502], Slot(p, 0, None)) == (None, Quality.DECODE_ERROR)


def test_alternate_point_fills_a_field_only_when_the_first_has_no_value() -> None:
    from collector.modbus.decode import decode_block

    cab = Point("temperature_c", 3, 0, "int16", 1, scale=0.1, sentinels=frozenset({0x8000}))
    snk = Point("temperature_c", 3, 1, "int16", 1, scale=0.1, alternate=True)
    slots = [Slot(cab, 0, None), Slot(snk, 1, None)]
    values: dict = {}
    quality: dict = {}
    decode_block([0x8000, 523], slots, values, quality)
    assert values == {"temperature_c": 52.3} and quality == {}
    values, quality = {}, {}
    decode_block([401, 523], slots, values, quality)
    assert values == {"temperature_c": 40.1} and quality == {}


def test_signature_needs_exactly_one_test() -> None:
    text = """
map: bad
vendor: X
document: Y
signatures: [{address: 1, prefix: AB, any_value: true}]
points: [{field: power_w, address: 1, type: int16}]
"""
    with pytest.raises(BadInput, match="exactly one"):
        parse_map(text)


def test_the_maps_folder_is_what_is_tested() -> None:
    # the ten maps of issue 19 at least; any file added later joins every test here
    assert len(SHIPPED) >= 10 and {"sunspec", "huawei-sun2000", "dtsu666"} <= set(SHIPPED)
    assert not [p.name for p in MAPS_DIR.iterdir() if p.suffix != ".yaml"]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_map_compiles_from_its_file(name: str) -> None:
    rmap = parse_map(
        (MAPS_DIR / f"{name}.yaml").read_text(encoding="utf-8"), str(MAPS_DIR / f"{name}.yaml")
    )
    assert rmap.name == name and rmap.vendor and rmap.document
    points = rmap.points or tuple(p for m in rmap.models.values() for p in m.points)
    assert points, name
    for p in points:  # every point has a unit where it is a quantity
        if p.field.endswith(("_w", "_wh", "_c")):
            assert p.unit, (name, p.field)


def test_every_shipped_map_loads_and_has_a_case_folder() -> None:
    assert set(SHIPPED) <= set(map_names())
    cased = {
        (CASES / c / "device.yaml").read_text().split("map: ")[1].split()[0]
        for c in (p.name for p in CASES.iterdir())
    }
    for name in SHIPPED:
        assert load_map(name).name == name
        assert name in cased, f"map {name} has no case folder"


def test_bad_map_lists_every_problem() -> None:
    text = """
map: bad
vendor: X
document: Y
limits: {max_registers: 4}
points:
  - {field: power_watts, address: 1, type: int16}
  - {field: energy_total_wh, address: 10, type: uint32, sf: 20}
  - {field: status, address: 2, type: uint16}
  - {field: fault_code, address: 3, type: int99}
"""
    with pytest.raises(BadInput) as exc:
        parse_map(text)
    msgs = " | ".join(f"{p.where}: {p.message}" for p in exc.value.problems)
    assert "power_watts" in msgs and "canonical" in msgs
    assert "status needs enum" in msgs
    assert "int99" in msgs or "points.3.type" in msgs
    assert len(exc.value.problems) == 3  # the span problem shows once fields are valid


def test_scale_factor_span_beyond_request_limit_is_refused() -> None:
    text = """
map: bad
vendor: X
document: Y
limits: {max_registers: 4}
points:
  - {field: energy_total_wh, address: 10, type: uint32, sf: 20}
"""
    with pytest.raises(BadInput, match="span 11 registers"):
        parse_map(text)


def test_planner_merges_within_limits_and_keeps_scale_factors() -> None:
    pts = [
        Point("power_w", 3, 100, "int16", 1, sf_address=130),
        Point("energy_total_wh", 3, 104, "acc32", 2, sf_address=106),
        Point("status", 4, 100, "uint16", 1, enum={1: 1}),
        Point("fault_code", 3, 200, "uint16", 1),
    ]
    reqs = plan_requests(pts, Limits(max_registers=40, max_gap=10))
    assert [(r.function, r.address, r.count) for r in reqs] == [
        (3, 100, 31),
        (3, 200, 1),
        (4, 100, 1),
    ]
    for r in reqs:  # each scale factor lies inside the request of its value
        for s in r.slots:
            if s.sf_offset is not None:
                assert 0 <= s.sf_offset < r.count
    assert len(plan_requests(pts, Limits(max_registers=40, max_gap=0))) == 3
    assert naive_request_count(pts) == 6


def test_sunspec_and_huawei_plans_beat_one_request_per_value() -> None:
    sun = load_map("sunspec")
    pts = place_points(typical(sun), sun, "inverter")
    assert len(plan_requests(pts, sun.limits)) == 1 < naive_request_count(pts) == 13
    hua = load_map("huawei-sun2000")
    assert len(plan_requests(hua.points, hua.limits)) == 2 < naive_request_count(hua.points)


@pytest.mark.parametrize(
    ("ptype", "words", "word_order", "expected", "quality"),
    [
        ("int16", [0xFFFE], "big", -2.0, Quality.GOOD),
        ("int16", [0x8000], "big", None, Quality.SENTINEL),
        ("uint32", [0x0001, 0x0002], "big", 65538.0, Quality.GOOD),
        ("uint32", [0x0002, 0x0001], "little", 65538.0, Quality.GOOD),
        ("float32", [0x7FC0, 0x0000], "big", None, Quality.SENTINEL),  # NaN
        ("float32", [0x7F80, 0x0000], "big", None, Quality.DECODE_ERROR),  # inf
    ],
)
def test_decode_types(ptype, words, word_order, expected, quality) -> None:
    sentinels = frozenset({0x8000}) if ptype == "int16" else frozenset()
    size = 1 if ptype == "int16" else 2
    p = Point("power_w", 3, 0, ptype, size, word_order=word_order, sentinels=sentinels)
    assert decode_point(words, Slot(p, 0, None)) == (expected, quality)


def test_bad_scale_factor_is_a_decode_error_and_negative_counter_too() -> None:
    p = Point("power_w", 3, 0, "int16", 1, sf_address=1)
    assert decode_point([100, 40], Slot(p, 0, 1)) == (None, Quality.DECODE_ERROR)
    c = Point("energy_total_wh", 3, 0, "int32", 2)
    assert decode_point([0xFFFF, 0xFFFF], Slot(c, 0, None)) == (None, Quality.DECODE_ERROR)


def test_devices_on_one_serial_bus_must_agree_on_line_settings(tmp_path) -> None:
    from collector.modbus.component import from_config
    from core.config import load_config
    from tests.modbus.conftest import write_config

    devs = [
        {
            "id": f"r{u}",
            "source": "modbus-rtu",
            "port": "/dev/ttyUSB0",
            "baud": b,
            "unit": u,
            "map": "huawei-sun2000",
        }
        for u, b in ((1, 9600), (2, 19200))
    ]
    with pytest.raises(BadInput, match="r2"):
        from_config(load_config(write_config(tmp_path, devs)))
