"""Fuzz every MQTT decoder (issue 12 Deliver 6, the MQTT part), bounded to about 30 s.

For each collector/mqtt/decoders/*.yaml, payloads go through the ingest's real
decode step (MqttIngest.decode_message), the plausibility gate and a real
SQLite store (GatedSink.write_checked, as the ingest commits). Properties:

- no exception escapes decoding, whatever the bytes (random bytes, non-UTF-8,
  deep nesting, long strings, wrong types, huge and special numbers: nan, inf,
  1e308, 2**64, -0);
- no valid item is lost: a plausible payload becomes a reading with every field
  GOOD, stored with its values;
- nothing is stored as GOOD that the gate refuses: every GOOD sample read back
  passes the gate's checks, and every reading is either stored or refused with
  a reason.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.mqtt.deadletter import DeadLetter
from collector.mqtt.decode import DecoderSpec, load_decoders
from collector.mqtt.ingest import MqttIngest
from collector.sinks import GatedSink
from core.config import Config, load_config
from core.plausibility import (
    COUNTER_FIELDS,
    INT64_MAX,
    INT64_MIN,
    bounds_for,
    time_refusal,
    value_problem,
)
from core.reading import Quality, Reading
from core.store import SqliteStore

DECODERS = load_decoders()
NOW_MS = 1_782_871_200_000  # 2026-07-01 10:00 +08:00: "now" for the gate
CST = dt.timezone(dt.timedelta(hours=8))
KW = 3.0
FUZZ = settings(
    deadline=None,
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class _At:
    """The service clock standing at NOW_MS."""

    def now_ms(self) -> int:
        return NOW_MS


def _config(folder: Path) -> Config:
    lines = [
        "site: {name: fuzz, latitude: 27.11, longitude: 114.98, gateway: gw-fuzz}",
        "storage: {backend: sqlite, path: data/pv.db}",
        "mqtt: {host: 127.0.0.1, port: 1883}",
        "villages: [{id: dongpi, name: 东陂村}]",
        "stations:",
    ]
    for name in DECODERS:
        lines.append(
            f"  - {{id: st-{name}, kind: village, capacity_kw: {KW}, owner: dongpi, "
            f"village: dongpi, devices: [{{id: {name}-log, source: mqtt, "
            f"topic: pv/dongpi/st-{name}, decoder: {name}}}]}}"
        )
    lines.append(
        "tariffs: [{id: t, applies_to: {kind: village}, shape: benchmark-total, "
        'from: 2018-01-01, total_yuan_per_kwh: "0.85", components: ['
        '{name: coal_benchmark, yuan_per_kwh: "0.4143", payer: grid, cycle: monthly}, '
        "{name: national_subsidy, yuan_per_kwh: remainder, payer: renewable_fund, "
        "cycle: annual, subsidy: true}]}]"
    )
    path = folder / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(path)


class Rig:
    """One config, the ingest's decode step, and a gated real store for every decoder."""

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="pvledger-fuzz-")
        self.config = _config(Path(self.dir.name))
        self.ingest = MqttIngest(self.config)  # decoding only: never opened
        self.store = SqliteStore(Path(self.dir.name) / "data" / "pv.db")
        self.ts = NOW_MS - 86_400_000
        self.counter_wh = 4_000_000
        self.receipt_ms = NOW_MS

    def sink(self) -> GatedSink:
        # a fresh gate per example: a counter's history would make random values jumps
        return GatedSink.for_config(self.config, self.store, _At())  # type: ignore[arg-type]

    def close(self) -> None:
        self.store.close()
        self.dir.cleanup()


@pytest.fixture
def rig():
    """One store per test (shared by its examples)."""
    r = Rig()
    yield r
    r.close()


def _decode(rig: Rig, name: str, payload: bytes) -> Reading | DeadLetter:
    rig.receipt_ms -= 1  # a payload without a time gets its own instant
    return rig.ingest.decode_message(f"pv/dongpi/st-{name}", payload, rig.receipt_ms)


def _assert_stored_good_passes_the_gate(rig: Rig, r: Reading) -> None:
    """Store r through the gate; every GOOD sample read back must pass its checks."""
    n, refused = rig.sink().write_checked([r])
    if refused:
        assert n == 0 and refused[0][1]  # refused with a reason, nothing stored
        return
    b = bounds_for(rig.config.storage.limits, KW)
    got = rig.store.series(devices=[r.device], start_ms=r.ts_ms, end_ms=r.ts_ms + 1)
    mine = {s.field: s for s in got if s.field in r.values}  # earlier examples share ts
    assert set(mine) == set(r.values)
    for s in mine.values():
        assert s.value == r.values[s.field] or (s.value is None and r.values[s.field] is None)
        if s.quality is Quality.GOOD:
            assert s.value is not None
            assert value_problem(s.field, s.value, b) is None, s
            assert not (isinstance(s.value, int) and not INT64_MIN <= s.value <= INT64_MAX)
            assert time_refusal(s.ts_ms, NOW_MS, rig.config.storage.limits) is None


special_numbers = st.sampled_from(
    [math.nan, math.inf, -math.inf, 1e308, -1e308, 2**64, -(2**64), 2**63, 10**30, -0.0, 0, 1e-320]
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    special_numbers,
    st.text(max_size=50),
    st.integers(min_value=2_000, max_value=10_000).map(lambda n: "x字\x00" * n),  # long
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


def _keys(spec: DecoderSpec) -> list[str]:
    return [f.key for f in spec.fields] + [k for k in (spec.device_key, spec.ts_key) if k]


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, allow_nan=True).encode()


@pytest.mark.parametrize("name", sorted(DECODERS))
@settings(FUZZ, max_examples=300)
@given(data=st.binary(max_size=2048))
def test_random_bytes_never_escape(rig: Rig, name: str, data: bytes) -> None:
    item = _decode(rig, name, data)
    assert isinstance(item, Reading | DeadLetter)
    if isinstance(item, DeadLetter):
        assert item.reason and item.payload == data
    else:
        _assert_stored_good_passes_the_gate(rig, item)


@pytest.mark.parametrize("name", sorted(DECODERS))
@settings(FUZZ, max_examples=200)
@given(data=st.data())
def test_hostile_fields_are_refused_flagged_or_dead_lettered(rig: Rig, name: str, data) -> None:
    spec = DECODERS[name]
    keys = _keys(spec)
    obj = data.draw(st.dictionaries(st.sampled_from(keys) | st.text(max_size=6), json_values))
    if spec.device_key and data.draw(st.booleans()):
        obj[spec.device_key] = f"{name}-log"  # the right device, so the fields get judged
    if spec.ts_key and data.draw(st.booleans()):
        obj[spec.ts_key] = data.draw(
            st.sampled_from(
                ["1970-01-01T08:00:00+08:00", "2100-01-01T08:00:00+08:00", "2026-07-01T10:00:00"]
            )
            | st.just(dt.datetime.fromtimestamp(NOW_MS / 1000, CST).isoformat())
            | json_scalars
        )
    item = _decode(rig, name, _dumps(obj))
    if isinstance(item, Reading):
        _assert_stored_good_passes_the_gate(rig, item)
    else:
        assert item.reason


@pytest.mark.parametrize("name", sorted(DECODERS))
@settings(FUZZ, max_examples=10)
@given(data=st.data())
def test_deep_nesting_and_non_utf8_are_dead_lettered(rig: Rig, name: str, data) -> None:
    depth = data.draw(st.integers(min_value=1_000, max_value=200_000))
    for payload in (
        b"[" * depth + b"]" * depth,
        b'{"a":' * depth + b"1" + b"}" * depth,
        b'{"sn": "\xff\xfe' + data.draw(st.binary(max_size=64)) + b'"}',
    ):
        item = _decode(rig, name, payload)
        assert isinstance(item, DeadLetter) and item.reason, item


def _valid(name: str, data, counter_wh: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A plausible payload for the decoder and the values it must decode to."""
    spec = DECODERS[name]
    obj: dict[str, Any] = {}
    want: dict[str, Any] = {}
    for f in spec.fields:
        if not data.draw(st.booleans()) and want:
            continue
        if f.mapping is not None:
            key = data.draw(st.sampled_from(sorted(f.mapping)))
            obj[f.key], want[f.name] = key, f.mapping[key]
        elif f.name in ("power_w", "dc_power_w"):
            v = data.draw(st.floats(min_value=0, max_value=KW * 1000 * 1.5 / f.scale))
            obj[f.key], want[f.name] = v, float(v * f.scale)
        elif f.name == "temperature_c":
            v = data.draw(st.floats(min_value=-30, max_value=90))
            obj[f.key], want[f.name] = v, float(v * f.scale)
        elif f.name in COUNTER_FIELDS:
            # rising plausibly from the example before (the gate remembers the store's)
            wh = counter_wh - counter_wh % int(f.scale)
            v = wh // int(f.scale) if f.scale >= 1 else wh
            obj[f.key], want[f.name] = v, round(v * f.scale)
        elif f.type == "int":
            n = data.draw(st.integers(min_value=0, max_value=10**6))
            obj[f.key], want[f.name] = n, round(n * f.scale)
        else:
            v = data.draw(st.floats(min_value=0, max_value=1e6))
            obj[f.key], want[f.name] = v, float(v * f.scale)
    return obj, want


@pytest.mark.parametrize("name", sorted(DECODERS))
@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_no_valid_item_is_lost(rig: Rig, name: str, data) -> None:
    spec = DECODERS[name]
    rig.ts += 60_000
    # at most what 3 kW x 1.5 makes in the minute between two examples (75 Wh)
    rig.counter_wh += data.draw(st.integers(min_value=0, max_value=75))
    obj, want = _valid(name, data, rig.counter_wh)
    if spec.device_key:
        obj[spec.device_key] = f"{name}-log"
    if spec.ts_key:
        when = dt.datetime.fromtimestamp(rig.ts / 1000, CST)
        obj[spec.ts_key] = {
            "iso8601": when.isoformat(),
            "epoch_s": rig.ts / 1000,
            "epoch_ms": rig.ts,
        }[spec.ts_format]
    item = _decode(rig, name, _dumps(obj))
    assert isinstance(item, Reading), item
    assert dict(item.values) == pytest.approx(want) and not item.quality
    n, refused = rig.sink().write_checked([item])
    assert refused == [] and n == len(want)
    got = rig.store.series(devices=[item.device], start_ms=item.ts_ms, end_ms=item.ts_ms + 1)
    assert {s.field: s.value for s in got} == pytest.approx(want)
    assert all(s.quality is Quality.GOOD for s in got), [(s.field, s.value, s.quality) for s in got]
