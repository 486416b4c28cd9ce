"""The simulated fleet: every device with a ``simulate:`` profile, and its state at any time.

``Fleet.pv_state`` / ``Fleet.meter_state`` are pure functions of (seed, config,
faults, device, time), vectorised over devices × times, so the live servers,
the MQTT loggers and the history backfill all read the same values.

Energy bookkeeping per inverter/logger:
  base(t)   = perf × energy of its curve from commissioning to t
  lost(t)   = energy that stop/outage/degrade faults withheld before t
  true(t)   = base − lost                (what the inverter really fed in)
  register  = true − true(last reset), frozen while a stuck-counter fault holds
  today     = true − true(local midnight or last reset, whichever is later)
A meter exports ``METER_EFFICIENCY`` × Σ true of its station's inverters and imports
``AUX_W_PER_KW`` × capacity continuously (auxiliary supply), both frozen in an outage.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from core import solar
from core.config import Config
from core.problems import BadInput, Problem
from simulator import noise
from simulator.faults import FAULT_CODE, Fault, FaultBook
from simulator.physics import DAY_MS, Curves, PowerModel, Weather

DEFAULT_SEED = 1
#: stations without a commissioning date in the config started here
DEFAULT_COMMISSIONED = dt.date(2018, 6, 30)
#: share of inverter energy that reaches the export meter (cables, transformer)
METER_EFFICIENCY = 0.99
#: auxiliary consumption imported by a station [W per kW of capacity]
AUX_W_PER_KW = 0.5
#: power fraction of rated above which an inverter reports "throttled" (clipping)
CLIP_FRACTION = 0.999


@cache
def profiles() -> dict[str, dict[str, Any]]:
    """Device profiles by name (simulator/profiles.yaml)."""
    return yaml.safe_load((Path(__file__).parent / "profiles.yaml").read_text())


@dataclass(frozen=True)
class SimDeviceSpec:
    """One simulated device as the model sees it."""

    id: str
    station: str
    village: str
    profile: str
    kind: str  # inverter | meter | mqtt-logger (profiles.yaml)
    is_meter: bool
    rated_w: float
    dc_w: float
    curve: int
    perf: float
    commissioned_ms: int
    capacity_kw: float
    source: str
    #: meters: indices (into Fleet.devices) of the station's inverters/loggers
    feeds: tuple[int, ...] = ()


class Fleet:
    """All simulated devices of a config, with the shared weather and power model."""

    def __init__(self, config: Config, seed: int = DEFAULT_SEED):
        self.config = config
        self.seed = seed
        self.tz = config.site.tz
        self.latitude = config.site.latitude
        self.longitude = config.site.longitude
        problems = []
        prof = profiles()
        vill_ids = [v.id for v in config.villages]
        extra = sorted({s.village for s in config.stations} - set(vill_ids))
        vill_ids += extra
        towns = {v.id: v.town for v in config.villages}
        vindex = {v: i for i, v in enumerate(vill_ids)}
        curves: dict[tuple[int, float, float], int] = {}
        devices: list[SimDeviceSpec] = []
        for s in config.stations:
            sim = [d for d in s.devices if d.simulate]
            pv = [d for d in sim if d.simulate in prof and prof[d.simulate]["kind"] != "meter"]
            comm = s.commissioned or DEFAULT_COMMISSIONED
            comm_s = int(dt.datetime(comm.year, comm.month, comm.day, tzinfo=self.tz).timestamp())
            first = len(devices)
            for d in sim:
                p = prof.get(d.simulate)
                if p is None:
                    problems.append(
                        Problem(
                            f"stations[{s.id}].devices[{d.id}].simulate",
                            f"unknown simulator profile {d.simulate!r}",
                            f"use one of {', '.join(sorted(prof))}",
                        )
                    )
                    continue
                is_meter = p["kind"] == "meter"
                dc_w = 0.0 if is_meter else s.capacity_kw * 1000.0 / max(len(pv), 1)
                rated = float(p.get("rated_w") or dc_w or 1.0)
                curve = -1
                if not is_meter:
                    ck = (vindex[s.village], round(dc_w, 3), rated)
                    curve = curves.setdefault(ck, len(curves))
                perf = 0.955 + 0.04 * float(
                    noise.uniform(seed, noise.key_of("perf", d.id), np.array([0]))[0]
                )
                devices.append(
                    SimDeviceSpec(
                        d.id,
                        s.id,
                        s.village,
                        d.simulate,
                        p["kind"],
                        is_meter,
                        rated,
                        dc_w,
                        curve,
                        perf,
                        comm_s * 1000,
                        s.capacity_kw,
                        d.source,
                    )
                )
            feeds = tuple(i for i in range(first, len(devices)) if not devices[i].is_meter)
            for i in range(first, len(devices)):
                if devices[i].is_meter:
                    devices[i] = _with_feeds(devices[i], feeds)
        if problems:
            raise BadInput(problems, "simulator profiles")
        self.devices = devices
        self.index = {d.id: i for i, d in enumerate(devices)}
        keys = sorted(curves, key=curves.get)
        cv = Curves(
            np.array([k[0] for k in keys], dtype=np.int64),
            np.array([k[1] for k in keys], dtype=np.float64),
            np.array([k[2] for k in keys], dtype=np.float64),
        )
        self.weather = Weather(seed, [(v, towns.get(v, "")) for v in vill_ids])
        day0 = min((d.commissioned_ms for d in devices), default=0) // DAY_MS - 1
        self.model = PowerModel(self.weather, cv, self.latitude, self.longitude, day0)

    def warm_up(self, ts_ms: int) -> None:
        """Integrate the history up to ts_ms now (seconds at start) rather than on a request."""
        if self.model.n_curves:
            self.model.ecum(np.zeros(1, dtype=np.int64), np.array([ts_ms]))

    # ---- inverters and loggers -------------------------------------------------------

    def _base(self, dev: SimDeviceSpec, t: np.ndarray) -> np.ndarray:
        """perf × curve energy [Wh] from commissioning to t (0 before)."""
        tc = dev.commissioned_ms
        tt = np.maximum(t, tc)
        e = self.model.ecum(np.full(tt.shape, dev.curve), tt)
        e0 = self.model.ecum(np.array([dev.curve]), np.array([tc]))[0]
        return dev.perf * (e - e0)

    def _segments(self, faults: list[Fault]) -> list[tuple[int, int, float, Fault]]:
        """Elementary windows with the smallest power factor active in each (factor < 1)."""
        pf = [f for f in faults if f.factor < 1.0]
        if not pf:
            return []
        far = 2**62
        bounds = sorted({f.start_ms for f in pf} | {f.end_ms or far for f in pf})
        out = []
        for a, b in itertools.pairwise(bounds):
            act = [f for f in pf if f.start_ms <= a and (f.end_ms or far) >= b]
            if act:
                worst = min(act, key=lambda f: f.factor)
                out.append((a, b, worst.factor, worst))
        return out

    def _true(self, dev: SimDeviceSpec, t: np.ndarray, segs: list) -> np.ndarray:
        """Energy really produced [Wh] from commissioning to t, after fault losses."""
        base = self._base(dev, t)
        for a, b, f, _ in segs:
            if np.all(t <= a):
                continue
            seg_e = self._base(dev, np.clip(t, a, b)) - self._base(dev, np.array([a]))[0]
            base = base - (1.0 - f) * seg_e
        return base

    def pv_state(
        self, dev_idx: int, ts_ms: Any, faults: FaultBook | None = None
    ) -> dict[str, np.ndarray]:
        """State of one inverter/logger at times ts_ms [UTC ms]: arrays keyed by field.

        Fields: power_w, energy_total_wh (register, int), energy_today_wh (int),
        energy_true_wh (float), status (canonical), fault_code, temperature_c,
        scale_step (SunSpec scale-factor shift), skew_s (logger clock offset).
        """
        dev = self.devices[dev_idx]
        t = np.atleast_1d(np.asarray(ts_ms, dtype=np.int64))
        flist = faults.for_device(dev.id) if faults else []
        segs = self._segments(flist)
        factor = np.ones(t.shape)
        fault_code = np.zeros(t.shape, dtype=np.int64)
        stopped = np.zeros(t.shape, dtype=bool)
        for a, b, f, fl in segs:
            inside = (t >= a) & (t < b)
            factor[inside] = f
            if f == 0.0:
                stopped |= inside
                fault_code[inside] = FAULT_CODE.get(fl.kind, 1)
        raw = self.model.power(np.full(t.shape, dev.curve), t) * dev.perf
        raw = np.where(t >= dev.commissioned_ms, raw, 0.0)
        power = raw * factor
        true = self._true(dev, t, segs)
        # counter resets (inverter replaced) and the local-midnight origin of "today"
        midnight = np.asarray(solar.local_day_start_ms(t, self.tz), dtype=np.int64)
        resets = sorted(f.start_ms for f in flist if f.kind == "counter_reset")
        last_reset = np.full(t.shape, -(2**62), dtype=np.int64)
        for r in resets:
            last_reset = np.where(t >= r, r, last_reset)
        origins = np.unique(np.concatenate([midnight, last_reset[last_reset > -(2**62)]]))
        o_true = self._true(dev, origins, segs)

        def look(x: np.ndarray) -> np.ndarray:
            return o_true[np.clip(np.searchsorted(origins, x), 0, len(origins) - 1)]

        reset_base = np.where(last_reset > -(2**62), look(last_reset), 0.0)
        today_origin = np.maximum(midnight, last_reset)
        today = true - look(today_origin)
        register = true - reset_base
        for f in flist:
            if f.kind != "stuck_counter":
                continue
            inside = (t >= f.start_ms) & (t < (f.end_ms or 2**62))
            if inside.any():
                frozen = self.pv_state(
                    dev_idx, f.start_ms, FaultBook(x for x in flist if x.kind != "stuck_counter")
                )["energy_total_wh"][0]
                register = np.where(inside, frozen, register)
        status = np.where(
            stopped,
            3,
            np.where(power <= 0.0, 0, np.where(power >= CLIP_FRACTION * dev.rated_w, 2, 1)),
        )
        amb = solar.ambient_temperature_c(t.astype(np.float64), self.latitude, self.longitude)
        temp = amb + 3.0 + 22.0 * power / dev.rated_w
        scale = np.zeros(t.shape, dtype=np.int64)
        skew = np.zeros(t.shape, dtype=np.float64)
        for f in flist:
            inside = (t >= f.start_ms) & (t < (f.end_ms or 2**62))
            if f.kind == "scale_change":
                scale[inside] = int(f.params.get("step", 1))
            elif f.kind == "clock_skew":
                skew[inside] = float(f.params.get("skew_s", 3600))
        return {
            "power_w": np.round(power, 1),
            "energy_total_wh": np.floor(register + 1e-9).astype(np.int64),
            "energy_today_wh": np.floor(np.maximum(today, 0.0) + 1e-9).astype(np.int64),
            "energy_true_wh": true,
            "status": status.astype(np.int64),
            "fault_code": fault_code,
            "temperature_c": np.round(temp, 1),
            "scale_step": scale,
            "skew_s": skew,
        }

    # ---- meters ----------------------------------------------------------------------

    def meter_state(
        self, dev_idx: int, ts_ms: Any, faults: FaultBook | None = None
    ) -> dict[str, np.ndarray]:
        """State of one export meter at ts_ms: power_w (net export), export_wh, import_wh."""
        dev = self.devices[dev_idx]
        t = np.atleast_1d(np.asarray(ts_ms, dtype=np.int64))
        gen_w = np.zeros(t.shape)
        gen_wh = np.zeros(t.shape)
        for i in dev.feeds:
            st = self.pv_state(i, t, faults)
            gen_w += st["power_w"]
            gen_wh += st["energy_true_wh"]
        aux_w = AUX_W_PER_KW * dev.capacity_kw
        flist = faults.for_device(dev.id) if faults else []
        down = [f for f in flist if f.kind == "outage"]
        t0 = np.maximum(t, dev.commissioned_ms)
        live_s = (t0 - dev.commissioned_ms) / 1000.0
        off = np.zeros(t.shape, dtype=bool)
        for f in down:
            end = f.end_ms or 2**62
            live_s -= np.clip(t0 - f.start_ms, 0, max(end - f.start_ms, 0)) / 1000.0
            off |= (t >= f.start_ms) & (t < end)
        power = np.where(off, 0.0, METER_EFFICIENCY * gen_w - aux_w)
        power = np.where(t >= dev.commissioned_ms, power, 0.0)
        return {
            "power_w": np.round(power, 1),
            "export_wh": np.floor(METER_EFFICIENCY * gen_wh + 1e-9).astype(np.int64),
            "import_wh": np.floor(aux_w * live_s / 3600.0 + 1e-9).astype(np.int64),
        }

    def state(self, dev_idx: int, ts_ms: Any, faults: FaultBook | None = None) -> dict:
        """pv_state or meter_state by the device's kind."""
        if self.devices[dev_idx].is_meter:
            return self.meter_state(dev_idx, ts_ms, faults)
        return self.pv_state(dev_idx, ts_ms, faults)


def _with_feeds(dev: SimDeviceSpec, feeds: tuple[int, ...]) -> SimDeviceSpec:
    return replace(dev, feeds=feeds)
