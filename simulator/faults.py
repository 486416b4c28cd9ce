"""Fault injection: what can go wrong with a simulated device, and when.

A fault is immutable: kind, resolved target devices, a window [start_ms, end_ms)
in simulated time (end None = until ended) and parameters. Faults come from a
YAML file (``--faults FILE``, may lie in the past: they then appear in the
history) or from the control interface at run time. Ending a fault never deletes
it: energy lost while a station was stopped stays lost, so counters never jump.

Kinds (docs/simulator.md):

=============== ======================================================================
stop            station stopped: power 0, status fault, counters frozen
outage          grid outage (a village): every device in it at 0, status fault
degrade         output ``factor`` (default 0.6) of what its peers make (soiling, string)
comm_loss       no answer (``refuse: true``: Modbus TCP port closed, connection refused)
busy            Modbus exception 6 (slave busy) on a fraction ``p`` (0.5) of requests
garbage         random bytes instead of the response
truncated       the response cut short
counter_reset   lifetime counter restarts from 0 at ``start`` (inverter replaced)
stuck_counter   lifetime counter frozen while power is still reported
scale_change    SunSpec W_SF and WH_SF one decade up while active
clock_skew      MQTT logger timestamps off by ``skew_s`` (default +3600 s)
=============== ======================================================================
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from core.config import Config
from core.problems import BadInput, Problem

KINDS = (
    "stop",
    "outage",
    "degrade",
    "comm_loss",
    "busy",
    "garbage",
    "truncated",
    "counter_reset",
    "stuck_counter",
    "scale_change",
    "clock_skew",
)
#: kinds that change the energy produced, with their power factor
POWER_FACTOR = {"stop": 0.0, "outage": 0.0}
#: vendor fault codes reported while a fault stops a device (Huawei-style alarm ids)
FAULT_CODE = {"stop": 2062, "outage": 2032}
#: kinds that only concern inverters/loggers (a meter keeps measuring)
PV_ONLY = {"stop", "degrade", "counter_reset", "stuck_counter", "scale_change", "clock_skew"}


@dataclass(frozen=True)
class Fault:
    """One injected fault on resolved devices over [start_ms, end_ms) (simulated UTC ms)."""

    id: str
    kind: str
    devices: tuple[str, ...]
    start_ms: int
    end_ms: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    target: str = ""  # what was asked for, e.g. "station v-dongpi"

    def active(self, ts_ms: int) -> bool:
        """True while the fault holds at ts_ms."""
        return self.start_ms <= ts_ms and (self.end_ms is None or ts_ms < self.end_ms)

    @property
    def factor(self) -> float:
        """Power factor applied while active (1 = no energy effect)."""
        if self.kind == "degrade":
            return float(self.params.get("factor", 0.6))
        return POWER_FACTOR.get(self.kind, 1.0)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = asdict(self)
        d["devices"] = list(self.devices)
        d["params"] = dict(self.params)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Fault:
        """Inverse of to_json."""
        return cls(
            str(d["id"]),
            str(d["kind"]),
            tuple(d["devices"]),
            int(d["start_ms"]),
            None if d.get("end_ms") is None else int(d["end_ms"]),
            dict(d.get("params") or {}),
            str(d.get("target", "")),
        )


def _parse_time(value: Any, now_ms: int) -> int:
    """ISO 8601 with offset, epoch ms, or an offset from now like "+2h" / "-30m"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"time {value!s} needs a UTC offset")
        return int(value.timestamp() * 1000)
    s = str(value).strip()
    if s[:1] in "+-" and s[-1:] in "smhd":
        mult = {"s": 1, "m": 60, "h": 3600, "d": 86400}[s[-1]]
        return now_ms + int(float(s[:-1]) * mult * 1000)
    t = dt.datetime.fromisoformat(s)
    if t.tzinfo is None:
        raise ValueError(f"time {s!r} needs a UTC offset, e.g. +08:00")
    return int(t.timestamp() * 1000)


def resolve_targets(
    config: Config, spec: Mapping[str, Any], kind: str
) -> tuple[str, tuple[str, ...]]:
    """Device ids a fault spec names (device, station or village), simulated devices only."""
    keys = [k for k in ("device", "station", "village") if spec.get(k)]
    if len(keys) != 1:
        raise ValueError("name exactly one of device, station, village")
    key = keys[0]
    name = str(spec[key])
    pairs = []
    if key == "device":
        if name not in config.device_index:
            raise ValueError(f"unknown device {name!r}")
        pairs = [config.device_index[name]]
    elif key == "station":
        if name not in config.station_by_id:
            raise ValueError(f"unknown station {name!r}")
        st = config.station_by_id[name]
        pairs = [(st, d) for d in st.devices]
    else:
        if name not in config.village_by_id:
            raise ValueError(f"unknown village {name!r}")
        pairs = [(s, d) for s in config.stations if s.village == name for d in s.devices]
    devs = [
        d.id
        for _, d in pairs
        if d.simulate and not (kind in PV_ONLY and d.role == "meter" and key != "device")
    ]
    if not devs:
        raise ValueError(f"{key} {name!r} has no simulated device this fault applies to")
    return f"{key} {name}", tuple(devs)


def make_fault(config: Config, spec: Mapping[str, Any], now_ms: int) -> Fault:
    """Build a Fault from a JSON/YAML spec; raises ValueError naming the problem.

    spec: {"kind", one of "device"/"station"/"village", optional "start" (default now),
    "duration_s" (simulated seconds; absent = until ended), "id", and kind parameters}.
    """
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    target, devices = resolve_targets(config, spec, kind)
    start = _parse_time(spec["start"], now_ms) if spec.get("start") is not None else now_ms
    dur = spec.get("duration_s")
    if dur is not None and (not isinstance(dur, int | float) or dur <= 0):
        raise ValueError("duration_s must be a positive number of seconds")
    end = None if dur is None else start + int(float(dur) * 1000)
    if kind == "counter_reset":
        end = start + 1  # an instant
    params = {
        k: v
        for k, v in spec.items()
        if k not in ("kind", "device", "station", "village", "start", "duration_s", "id")
    }
    for k, lo, hi in (("factor", 0.0, 1.0), ("p", 0.0, 1.0)):
        if k in params and not (isinstance(params[k], int | float) and lo <= params[k] <= hi):
            raise ValueError(f"{k} must be a number in {lo}..{hi}")
    return Fault(
        str(spec.get("id") or uuid.uuid4().hex[:8]), kind, devices, start, end, params, target
    )


def load_faults_file(config: Config, path: Path, now_ms: int) -> list[Fault]:
    """Faults scheduled in a YAML file ({faults: [spec, ...]}); BadInput lists every problem."""
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise BadInput([Problem(str(path), f"cannot read faults file: {e}")]) from None
    specs = doc.get("faults") if isinstance(doc, dict) else None
    if not isinstance(specs, list):
        raise BadInput([Problem(str(path), "expected a mapping with a list under 'faults:'")])
    out, problems = [], []
    for i, spec in enumerate(specs):
        try:
            if not isinstance(spec, dict):
                raise ValueError("each fault is a mapping")
            out.append(make_fault(config, {"id": f"f{i + 1}", **spec}, now_ms))
        except (ValueError, KeyError) as e:
            problems.append(Problem(f"{path}: faults[{i}]", str(e)))
    if problems:
        raise BadInput(problems)
    return out


class FaultBook:
    """The faults known to one simulator, indexed by device (replaced, never mutated)."""

    def __init__(self, faults: Iterable[Fault] = ()):
        self.faults: tuple[Fault, ...] = tuple(faults)
        by_dev: dict[str, list[Fault]] = {}
        for f in self.faults:
            for d in f.devices:
                by_dev.setdefault(d, []).append(f)
        self._by_dev = by_dev

    def for_device(self, device: str) -> list[Fault]:
        """Every fault (past, present, future) touching device."""
        return self._by_dev.get(device, [])

    def active(self, device: str, kind: str, ts_ms: int) -> Fault | None:
        """The newest fault of kind active on device at ts_ms, or None."""
        hit = None
        for f in self._by_dev.get(device, ()):
            if f.kind == kind and f.active(ts_ms):
                hit = f
        return hit

    def added(self, fault: Fault) -> FaultBook:
        """A new book with fault added."""
        return FaultBook([*self.faults, fault])

    def ended(self, fault_id: str, now_ms: int) -> FaultBook:
        """A new book where fault_id ends at now_ms (KeyError if unknown)."""
        if not any(f.id == fault_id for f in self.faults):
            raise KeyError(fault_id)
        return FaultBook(
            replace(f, end_ms=max(f.start_ms + 1, now_ms))
            if f.id == fault_id and (f.end_ms is None or f.end_ms > now_ms)
            else f
            for f in self.faults
        )

    def to_json(self) -> str:
        """Serialise (the Modbus process reads this file)."""
        return json.dumps([f.to_json() for f in self.faults])

    @classmethod
    def from_json(cls, text: str) -> FaultBook:
        """Inverse of to_json."""
        return cls(Fault.from_json(d) for d in json.loads(text or "[]"))

    def save(self, path: Path) -> None:
        """Write atomically."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)
