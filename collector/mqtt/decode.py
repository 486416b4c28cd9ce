"""Payload decoders as data: a YAML file per logger type maps JSON keys to canonical fields.

``decode()`` is pure: payload bytes in, a Reading out, or ``Rejected`` with a
reason that goes to the dead-letter table. A field that does not convert
becomes None with DECODE_ERROR (the rest of the reading is kept); a payload
that is not a JSON object, names another device, carries a bad timestamp or
has no usable field at all is rejected as a whole.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.reading import Quality, Reading, Value

DECODER_DIR = Path(__file__).parent / "decoders"
_TYPES = ("float", "int")
_TS_FORMATS = ("iso8601", "epoch_s", "epoch_ms")


class Rejected(Exception):
    """A payload that cannot become a reading; ``reason`` is short and stable."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class FieldSpec:
    """How one canonical field is read from the payload."""

    name: str
    key: str
    type: str = "float"
    scale: float = 1.0
    mapping: dict[str, int] | None = None


@dataclass(frozen=True)
class DecoderSpec:
    """One logger type's payload layout (from decoders/<name>.yaml)."""

    name: str
    device_key: str | None
    ts_key: str | None
    ts_format: str
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)


def parse_spec(name: str, data: dict[str, Any]) -> DecoderSpec:
    """Validate a decoder file's content; raises ValueError naming the problem."""
    if data.get("format") != "json":
        raise ValueError(f"decoder {name}: format must be json")
    ts = data.get("timestamp") or {}
    ts_format = ts.get("format", "iso8601")
    if ts_format not in _TS_FORMATS:
        raise ValueError(f"decoder {name}: timestamp.format must be one of {_TS_FORMATS}")
    specs = []
    for fname, f in (data.get("fields") or {}).items():
        if not isinstance(f, dict) or "key" not in f:
            raise ValueError(f"decoder {name}: field {fname} needs key:")
        mapping = f.get("map")
        ftype = f.get("type", "int" if mapping else "float")
        if ftype not in _TYPES:
            raise ValueError(f"decoder {name}: field {fname} type must be float or int")
        specs.append(
            FieldSpec(
                fname,
                str(f["key"]),
                ftype,
                float(f.get("scale", 1)),
                {str(k): int(v) for k, v in mapping.items()} if mapping else None,
            )
        )
    if not specs:
        raise ValueError(f"decoder {name}: no fields")
    return DecoderSpec(name, data.get("device_key"), ts.get("key"), ts_format, tuple(specs))


def load_decoders(directory: Path = DECODER_DIR) -> dict[str, DecoderSpec]:
    """Every decoders/*.yaml by name (file stem)."""
    out = {}
    for p in sorted(directory.glob("*.yaml")):
        out[p.stem] = parse_spec(p.stem, yaml.safe_load(p.read_text(encoding="utf-8")) or {})
    return out


def _timestamp(spec: DecoderSpec, obj: dict[str, Any], receipt_ms: int) -> int:
    if spec.ts_key is None or spec.ts_key not in obj:
        return receipt_ms
    raw = obj[spec.ts_key]
    try:
        if spec.ts_format == "iso8601":
            if not isinstance(raw, str):
                raise ValueError("not a string")
            t = dt.datetime.fromisoformat(raw)
            if t.tzinfo is None:
                raise ValueError("no UTC offset")
            return round(t.timestamp() * 1000)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise ValueError("not a number")
        return round(raw * 1000) if spec.ts_format == "epoch_s" else round(raw)
    except (ValueError, OverflowError) as exc:
        raise Rejected("bad timestamp", f"{spec.ts_key}={raw!r} ({exc})") from None


def _value(f: FieldSpec, raw: Any) -> Value:
    if f.mapping is not None:
        return f.mapping.get(str(raw)) if isinstance(raw, str) else None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    if isinstance(raw, int) and f.scale == 1.0 and f.type == "int":
        return raw  # exact, however large: the plausibility gate judges its size
    try:
        v = raw * f.scale if f.scale != 1.0 else raw
        if not math.isfinite(v):  # also 1e308 × 1000, or an int too large for a float
            return None
        return round(v) if f.type == "int" else float(v)
    except OverflowError:
        return None


def decode(
    spec: DecoderSpec,
    payload: bytes,
    *,
    device: str,
    station: str,
    receipt_ms: int,
    measurement: str = "pv",
    village: str = "",
    gateway: str = "",
) -> Reading:
    """Payload bytes of one device to a Reading; raises Rejected with the reason."""
    try:
        obj = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Rejected("malformed json", str(exc)[:200]) from None
    except RecursionError:
        raise Rejected("malformed json", "nested too deeply") from None
    if not isinstance(obj, dict):
        raise Rejected("not a json object", type(obj).__name__)
    if spec.device_key is not None and spec.device_key in obj:
        named = obj[spec.device_key]
        if named != device:
            raise Rejected(
                "unknown device", f"{spec.device_key}={named!r} on the topic of {device}"
            )
    ts_ms = _timestamp(spec, obj, receipt_ms)
    values: dict[str, Value] = {}
    quality: dict[str, Quality] = {}
    for f in spec.fields:
        if f.key not in obj:
            continue
        v = _value(f, obj[f.key])
        values[f.name] = v
        if v is None:
            quality[f.name] = Quality.DECODE_ERROR
    if not values or len(quality) == len(values):
        raise Rejected("no usable field", ", ".join(sorted(obj))[:200])
    return Reading(station, device, ts_ms, values, quality, measurement, village, gateway)
