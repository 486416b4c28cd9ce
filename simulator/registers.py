"""Register images of the emulated devices, derived from the register maps.

Pure functions: a device state (one time, fields of fleet.pv_state/meter_state as
scalars) -> {(function, 0-based address): 16-bit word}. Where each field lives and how
it is encoded comes from the same map file the collector decodes with
(collector/modbus/maps/<map>.yaml), written by collector/modbus/encode.py; what a map
does not say (identification text, unimplemented points, which vendor code a state is
shown as, scale-factor exponents) is data in images.yaml next to this file.

SunSpec: "SunS" at the map's first base (40000), then the models of ``chain`` with the
lengths the map gives them (model 1: 66), then the end marker 0xFFFF, 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from collector.modbus.encode import Image, encode_points, vendor_code
from collector.modbus.plan import plan_requests
from collector.modbus.regmap import Point, RegisterMap, load_map
from collector.modbus.sunspec import COMMON_ID, COMMON_LENGTH, END_ID, MARKER

#: share of DC power that leaves the inverter as AC (the model's full-load efficiency)
INVERTER_EFFICIENCY = 0.97
INT16_MAX = 32767


@cache
def image_specs() -> dict[str, dict[str, Any]]:
    """How each map's devices fill their registers (simulator/images.yaml)."""
    return yaml.safe_load((Path(__file__).parent / "images.yaml").read_text(encoding="utf-8"))


def power_sf(rated_w: float) -> int:
    """Smallest power-of-ten exponent at which the rating fits an int16."""
    sf = 0
    while rated_w / 10**sf > INT16_MAX:
        sf += 1
    return sf


def _text(s: str, regs: int) -> list[int]:
    b = s.encode()[: regs * 2].ljust(regs * 2, b"\0")
    return [int.from_bytes(b[i : i + 2], "big") for i in range(0, len(b), 2)]


def _apply(
    out: Image, fc: int, base: int, entries: Iterable[Mapping[str, Any]], names: Mapping[str, str]
) -> None:
    """Write images.yaml register entries at base + at."""
    for e in entries:
        ats = e["at"] if isinstance(e["at"], list) else [e["at"]]
        for at in ats:
            if "text" in e:
                words = _text(str(e["text"]).format(**names), int(e["length"]))
            elif "words" in e:
                words = [int(w) for w in e["words"]]
            else:
                words = [int(e["fill"])] * int(e.get("count", 1))
            for i, w in enumerate(words):
                out[(fc, base + at + i)] = w


def field_values(st: Mapping[str, Any], rated_w: float) -> dict[str, Any]:
    """The canonical fields a device shows, from the model's state."""
    vals = dict(st)
    if "energy_total_wh" in st:  # an inverter: DC input and its rating as well
        power = float(st["power_w"])
        vals["dc_power_w"] = power / INVERTER_EFFICIENCY if power > 0 else 0.0
        vals["capacity_w"] = rated_w
    return vals


def _fault(spec: Mapping[str, Any], code: int) -> int:
    table = spec.get("fault_codes")
    return int(code) if table is None else int(table.get(int(code), 0))


def _status(spec: Mapping[str, Any], points: Iterable[Point], state: int) -> tuple[int, dict]:
    """(canonical value to encode, prefer) so the device shows images.yaml's vendor code."""
    code = spec.get("status_codes", {}).get(state)
    p = next((q for q in points if q.field == "status"), None)
    if code is None or p is None or p.enum is None:
        return state, {}
    canonical = p.enum[code]
    assert vendor_code(p, canonical, {canonical: code}) == code
    return canonical, {canonical: code}


def _encode(
    points: tuple[Point, ...], st: Mapping[str, Any], rated_w: float, spec: Mapping, sfs: dict
) -> Image:
    vals = field_values(st, rated_w)
    prefer: dict[int, int] = {}
    if "status" in vals:
        vals["status"], prefer = _status(spec, points, int(vals["status"]))
    if "fault_code" in vals:
        vals["fault_code"] = _fault(spec, int(vals["fault_code"]))
    # strict=False: a value the register cannot hold reads as "not implemented",
    # as a real device shows a reading it does not have
    return encode_points(points, vals, sfs, prefer, strict=False)


def fixed_image(
    rmap: RegisterMap, st: Mapping[str, Any], rated_w: float, model: str, serial: str
) -> Image:
    """A fixed-map device: every range the collector plans to read, plus images.yaml's."""
    spec = image_specs().get(rmap.name, {})
    out: Image = {}
    for req in plan_requests(rmap.points, rmap.limits):
        for a in range(req.address, req.address + req.count):
            out[(req.function, a)] = 0
    fc = rmap.points[0].function
    for b in spec.get("blocks", ()):
        for a in range(int(b["at"]), int(b["at"]) + int(b["count"])):
            out[(int(b.get("function", fc)), a)] = 0
    _apply(out, fc, 0, spec.get("registers", ()), {"model": model, "serial": serial})
    out.update(_encode(rmap.points, st, rated_w, spec, {}))
    return out


def _sf_exponent(terms: Iterable[Any], rated_w: float, step: int) -> int:
    total = 0
    for t in terms:
        total += power_sf(rated_w) if t == "fit" else step if t == "step" else int(t)
    return total


def sunspec_image(
    rmap: RegisterMap, st: Mapping[str, Any], rated_w: float, model: str, serial: str
) -> Image:
    """A SunSpec device: marker, the chain of images.yaml, end marker."""
    spec = image_specs()[rmap.name]
    names = {"model": model, "serial": serial}
    step = int(st.get("scale_step", 0))
    exps = {k: _sf_exponent(v, rated_w, step) for k, v in spec.get("scale_factors", {}).items()}
    fc = 3
    base = rmap.bases[0]
    out: Image = {(fc, base): MARKER[0], (fc, base + 1): MARKER[1]}
    at = base + 2
    for mid in spec["chain"]:
        m = rmap.models.get(mid)
        length = COMMON_LENGTH if mid == COMMON_ID else m.length  # type: ignore[union-attr]
        out[(fc, at)], out[(fc, at + 1)] = mid, length
        _apply(out, fc, at, spec.get("registers", {}).get(mid, ()), names)
        if m is not None:
            placed = tuple(_moved(p, at) for p in m.points)
            sfs = {at + off: exps[name] for name, off in m.scale_factors.items() if name in exps}
            out.update(_encode(placed, st, rated_w, spec, sfs))
        at += 2 + length
    out[(fc, at)], out[(fc, at + 1)] = END_ID, 0
    return out


def _moved(p: Point, start: int) -> Point:
    sf = None if p.sf_address is None else start + p.sf_address
    return replace(p, address=start + p.address, sf_address=sf)


def image(map_name: str, st: Mapping[str, Any], rated_w: float, model: str, serial: str) -> Image:
    """The register image of a device served with the named map."""
    rmap = load_map(map_name)
    if rmap.kind == "sunspec":
        return sunspec_image(rmap, st, rated_w, model, serial)
    return fixed_image(rmap, st, rated_w, model, serial)


def runs(words: Mapping[int, int]) -> dict[int, list[int]]:
    """{first address: [words]}: addresses -> words as contiguous runs."""
    out: dict[int, list[int]] = {}
    first = prev = None
    for a in sorted(words):
        if prev is None or a != prev + 1:
            first = a
            out[a] = []
        out[first].append(words[a])  # type: ignore[index]
        prev = a
    return out


def blocks(img: Image) -> dict[int, dict[int, list[int]]]:
    """{function: {first address: [words]}}: the image as contiguous runs per function."""
    return {
        fc: runs({a: w for (f, a), w in img.items() if f == fc})
        for fc in sorted({f for f, _ in img})
    }
