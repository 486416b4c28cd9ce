"""Register maps as data: load ``maps/*.yaml``, validate at load, compile to frozen records.

A map names, for each canonical field (docs/nomenclature.md), where it lives
(function code, address as the vendor documents it, address base 0 or 1), how it
is encoded (type, byte and word order), how it is scaled (a constant, a SunSpec
scale-factor register, or both) and which raw values mean "not implemented".
Two kinds of map exist: ``fixed`` (addresses known in advance, vendor maps) and
``sunspec`` (models found by walking the device's model chain at run time).
Every problem in a map file is reported at once (core.problems.BadInput); a map
is never repaired silently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.problems import BadInput, Problem

MAPS_DIR = Path(__file__).resolve().parent / "maps"
#: extra folders searched for map files (os.pathsep separated), before the shipped ones
MAPS_PATH_ENV = "PVLEDGER_MODBUS_MAPS"

#: per-MPPT fields (docs/nomenclature.md): ``<name>_mppt<n>``, n counted from 1
MPPT_FIELDS = ("dc_current_a", "dc_voltage_v", "dc_power_w")
#: the most MPPT inputs a map may name (large string inverters have up to about 20)
MAX_MPPT = 32
#: placeholder in a repeating block's field name, replaced by the block's 1-based index
INDEX = "{n}"

#: canonical fields a map may fill, and whether the value is stored as an integer
FIELDS: Mapping[str, bool] = MappingProxyType(
    {
        **{f"{f}_mppt{n}": False for n in range(1, MAX_MPPT + 1) for f in MPPT_FIELDS},
        "power_w": False,
        "energy_total_wh": True,
        "energy_today_wh": True,
        "export_wh": True,
        "import_wh": True,
        "status": True,
        "fault_code": True,
        "temperature_c": False,
        "dc_power_w": False,
        "capacity_w": True,
    }
)
#: counters: a decoded value that goes down is logged (replacement/reset), never clamped
COUNTERS = frozenset({"energy_total_wh", "export_wh", "import_wh"})

#: registers per type (strings give their own length)
SIZES: Mapping[str, int] = MappingProxyType(
    {
        "int16": 1,
        "uint16": 1,
        "enum16": 1,
        "bitfield16": 1,
        "sunssf": 1,
        "int32": 2,
        "uint32": 2,
        "acc32": 2,
        "bitfield32": 2,
        "float32": 2,
        "acc64": 4,
        "uint64": 4,
        "string": 0,
    }
)
#: SunSpec "unimplemented" values per type, used when a map sets ``default_sentinels: true``
DEFAULT_SENTINELS: Mapping[str, frozenset[int]] = MappingProxyType(
    {
        "int16": frozenset({0x8000}),
        "uint16": frozenset({0xFFFF}),
        "enum16": frozenset({0xFFFF}),
        "bitfield16": frozenset({0xFFFF}),
        "sunssf": frozenset({0x8000}),
        "int32": frozenset({0x80000000}),
        "uint32": frozenset({0xFFFFFFFF}),
        "acc32": frozenset({0}),
        "bitfield32": frozenset({0xFFFFFFFF}),
        "acc64": frozenset({0}),
        "uint64": frozenset({0xFFFFFFFFFFFFFFFF}),
    }
)
MAX_REGISTERS_PER_READ = 125  # Modbus PDU limit for FC3/FC4


# --------------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class Limits:
    """What a device tolerates on the wire."""

    max_registers: int = MAX_REGISTERS_PER_READ  # registers per request
    max_gap: int = 10  # unused registers a request may span to merge two blocks
    pause_ms: int = 0  # pause between two requests to this device [ms]
    connect_wait_ms: int = 0  # wait after connecting before the first request [ms]
    timeout_s: float = 1.0  # response timeout [s]
    single_connection: bool = False  # device accepts one TCP connection only


@dataclass(frozen=True, slots=True)
class Point:
    """One canonical field at a concrete register address (0-based, as on the wire)."""

    field: str
    function: int  # 3 holding, 4 input
    address: int
    type: str
    size: int  # registers
    word_order: str = "big"  # order of 16-bit words in 32/64-bit values
    byte_order: str = "big"  # order of bytes inside each word
    scale: float = 1.0  # multiplier applied to the raw value
    add: float = 0.0  # added to the raw value before scaling (offset encodings)
    sf_address: int | None = None  # SunSpec scale-factor register (10**sf), same function
    enum: Mapping[int, int] | None = None  # vendor code -> canonical code
    sentinels: frozenset[int] = frozenset()
    checked: bool = False  # checked against the vendor's document
    unit: str = ""
    mask: int | None = None  # raw bits kept before the enum (a code in the low byte)
    alternate: bool = False  # fills the field only when the field's other point has no value

    @property
    def span(self) -> tuple[int, int]:
        """First and last register (inclusive) this point needs, its scale factor included."""
        lo, hi = self.address, self.address + self.size - 1
        if self.sf_address is not None:
            lo, hi = min(lo, self.sf_address), max(hi, self.sf_address)
        return lo, hi


@dataclass(frozen=True, slots=True)
class Repeat:
    """A SunSpec repeating block (model 160's modules): its points once, with ``{n}`` fields."""

    start: int  # offset of the first block's first register, from the model's ID register
    size: int  # registers per block
    count_offset: int | None  # offset of the block count (N), read once at discovery
    max_count: int  # blocks placed at most
    points: tuple[Point, ...]  # address = offset inside a block; sf_address from the ID


@dataclass(frozen=True, slots=True)
class SunSpecModel:
    """A SunSpec model's points, with offsets from the model's ID register."""

    model_id: int
    name: str
    length: int  # L: registers after ID and L
    points: tuple[Point, ...]  # address = offset from the ID register; sf_address likewise
    #: scale-factor register name -> offset (the simulator writes them by name)
    scale_factors: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    repeat: Repeat | None = None


@dataclass(frozen=True, slots=True)
class FaultText:
    """What a vendor fault code means, in both languages an alert may use."""

    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class Signature:
    """How `pvledger probe` recognises a device of this map: one read and what it must hold."""

    function: int
    address: int  # 0-based wire address
    count: int
    prefix: str = ""  # the registers as ASCII start with this text
    values: frozenset[int] = frozenset()  # or the first register is one of these
    any_value: bool = False  # or the read merely succeeds (weak: tried last)
    absent: bool = False  # this read must be refused (tells a map from a bigger sibling's)


@dataclass(frozen=True, slots=True)
class RegisterMap:
    """A validated register map."""

    name: str
    kind: str  # fixed | sunspec
    vendor: str
    document: str
    limits: Limits
    points: tuple[Point, ...] = ()  # fixed maps
    bases: tuple[int, ...] = ()  # sunspec: where to look for the SunS marker
    models: Mapping[int, SunSpecModel] = field(default_factory=lambda: MappingProxyType({}))
    typical_layout: tuple[int, ...] = ()  # sunspec: model chain assumed by --plan
    source: str = ""
    faults: Mapping[int, FaultText] = field(default_factory=lambda: MappingProxyType({}))
    signatures: tuple[Signature, ...] = ()
    rs485: str = ""  # the vendor's default line settings, e.g. "9600 8N1"


# --------------------------------------------------------------------------- YAML schema
class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Limits(_M):
    max_registers: int = Field(default=MAX_REGISTERS_PER_READ, ge=1, le=MAX_REGISTERS_PER_READ)
    max_gap: int = Field(default=10, ge=0, le=MAX_REGISTERS_PER_READ)
    pause_ms: int = Field(default=0, ge=0, le=10_000)
    connect_wait_ms: int = Field(default=0, ge=0, le=30_000)
    timeout_s: float = Field(default=1.0, gt=0, le=30)
    single_connection: bool = False


_Type = Literal[
    "int16", "uint16", "int32", "uint32", "acc32", "acc64", "uint64", "float32", "string",
    "enum16", "bitfield16", "bitfield32", "sunssf",
]  # fmt: skip


class _Point(_M):
    field: str
    address: int | None = Field(default=None, ge=0, le=0x1FFFF)  # fixed maps
    offset: int | None = Field(default=None, ge=0, le=0xFFFF)  # sunspec models
    type: _Type
    length: int | None = Field(default=None, ge=1, le=64)  # strings: registers
    function: Literal[3, 4] | None = None
    word_order: Literal["big", "little"] | None = None
    byte_order: Literal["big", "little"] | None = None
    scale: float = 1.0
    add: float = 0.0
    sf: str | int | None = None  # sunspec: name in scale_factors; fixed: an address
    enum: dict[int, int] | None = None
    sentinel: list[int] | None = None
    unit: str = ""
    checked: bool = False
    mask: int | None = Field(default=None, ge=1, le=0xFFFF)
    alternate: bool = False  # sunspec: another register for the same field, used when the
    #                          first one is not implemented (heat sink for cabinet temperature)

    @model_validator(mode="after")
    def _shape(self) -> _Point:
        if self.field.replace(INDEX, "1") not in FIELDS:
            plain = [f for f in FIELDS if "_mppt" not in f]
            per = ", ".join(f"{f}_mppt{INDEX}" for f in MPPT_FIELDS)
            raise ValueError(
                f"field {self.field!r} is not a canonical name; use one of {', '.join(plain)} "
                f"or, in a repeat: block, {per}"
            )
        if self.type == "string" and self.length is None:
            raise ValueError("a string point needs length: (registers)")
        if self.type == "enum16" and not self.enum:
            raise ValueError("an enum16 point needs enum: {vendor code: canonical code}")
        if self.field == "status" and not self.enum:
            raise ValueError("status needs enum: mapping vendor codes to canonical codes 0-5")
        if self.enum and any(v not in range(6) for v in self.enum.values()):
            raise ValueError("status codes must be canonical 0-5 (docs/nomenclature.md)")
        if self.scale == 0:
            raise ValueError("scale 0 would turn every value into 0")
        return self


class _Repeat(_M):
    start: int = Field(ge=2, le=0xFFFF)  # offset of the first block, from the ID register
    size: int = Field(ge=1, le=MAX_REGISTERS_PER_READ)
    count: int | None = Field(default=None, ge=2, le=0xFFFF)  # offset of N
    max: int = Field(default=MAX_MPPT, ge=1, le=MAX_MPPT)
    points: list[_Point] = Field(min_length=1)


class _Model(_M):
    name: str
    length: int = Field(ge=0, le=0xFFFF)  # a model with repeat: the typical length (--plan)
    scale_factors: dict[str, int] = Field(default_factory=dict)
    points: list[_Point] = Field(default_factory=list)
    repeat: _Repeat | None = None
    checked: str = ""


class _Fault(_M):
    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)


class _Signature(_M):
    function: Literal[3, 4] | None = None
    address: int = Field(ge=0, le=0x1FFFF)  # as the document lists it (address_base applies)
    count: int = Field(default=1, ge=1, le=MAX_REGISTERS_PER_READ)
    prefix: str = ""
    values: list[int] = Field(default_factory=list)
    any_value: bool = False
    absent: bool = False

    @model_validator(mode="after")
    def _one_test(self) -> _Signature:
        tests = (bool(self.prefix), bool(self.values), self.any_value, self.absent)
        if sum(tests) != 1:
            raise ValueError(
                "a signature needs exactly one of prefix:, values:, any_value: true, absent: true"
            )
        return self


class _Discovery(_M):
    bases: list[int] = Field(default=[40000, 0, 50000], min_length=1)
    function: Literal[3, 4] = 3


class _Map(_M):
    map: str
    kind: Literal["fixed", "sunspec"] = "fixed"
    vendor: str
    document: str
    devices: list[str] = Field(default_factory=list)
    function: Literal[3, 4] = 3
    address_base: Literal[0, 1] = 0
    byte_order: Literal["big", "little"] = "big"
    word_order: Literal["big", "little"] = "big"
    default_sentinels: bool = False
    limits: _Limits = Field(default_factory=_Limits)
    points: list[_Point] = Field(default_factory=list)
    discovery: _Discovery | None = None
    models: dict[int, _Model] = Field(default_factory=dict)
    typical_layout: list[int] = Field(default_factory=list)
    notes: str = ""
    checked_against: str = ""
    unconfirmed: str = ""  # fields not read in the vendor's document, and why
    rs485: str = ""
    faults: dict[int, _Fault] = Field(default_factory=dict)  # vendor fault code -> texts
    signatures: list[_Signature] = Field(default_factory=list)
    anchors: dict[str, Any] = Field(default_factory=dict)  # YAML anchors, not read


# --------------------------------------------------------------------------- compile
def _sentinels(p: _Point, default: bool) -> frozenset[int]:
    if p.sentinel is not None:
        return frozenset(p.sentinel)
    return DEFAULT_SENTINELS.get(p.type, frozenset()) if default else frozenset()


def _point(p: _Point, m: _Map, address: int, sf_address: int | None) -> Point:
    return Point(
        field=p.field,
        function=p.function or m.function,
        address=address,
        type=p.type,
        size=p.length if p.type == "string" else SIZES[p.type],
        word_order=p.word_order or m.word_order,
        byte_order=p.byte_order or m.byte_order,
        scale=p.scale,
        add=p.add,
        sf_address=sf_address,
        enum=MappingProxyType(dict(p.enum)) if p.enum else None,
        sentinels=_sentinels(p, m.default_sentinels),
        checked=p.checked,
        unit=p.unit,
        mask=p.mask,
        alternate=p.alternate,
    )


def _extras(m: _Map) -> dict[str, Any]:
    """Fault texts, probe signatures and line settings, common to both kinds of map."""
    sigs = tuple(
        Signature(
            function=s.function or m.function,
            address=s.address - m.address_base,
            count=s.count,
            prefix=s.prefix,
            values=frozenset(s.values),
            any_value=s.any_value,
            absent=s.absent,
        )
        for s in m.signatures
    )
    faults = {code: FaultText(f.en, f.zh) for code, f in m.faults.items()}
    return dict(faults=MappingProxyType(faults), signatures=sigs, rs485=m.rs485)


def _repeat(mid: int, mod: _Model, m: _Map, errs: list[str]) -> Repeat | None:
    """A model's repeating block compiled; problems appended to errs."""
    r = mod.repeat
    assert r is not None
    pts = []
    for i, p in enumerate(r.points):
        where = f"models.{mid}.repeat.points[{i}] ({p.field})"
        if INDEX not in p.field:
            errs.append(f"{where}: a repeating point's field ends in _mppt{INDEX} (its index)")
            continue
        if p.offset is None or p.address is not None:
            errs.append(f"{where}: give offset: (inside one block), no address:")
            continue
        sf = None
        if p.sf is not None:
            if not isinstance(p.sf, str) or p.sf not in mod.scale_factors:
                errs.append(f"{where}: sf {p.sf!r} is not in this model's scale_factors")
                continue
            sf = mod.scale_factors[p.sf]
        pt = _point(p, m, p.offset, sf)
        if pt.address + pt.size > r.size:
            errs.append(f"{where}: offset outside the block (0..{r.size - 1})")
            continue
        pts.append(pt)
    if r.count is not None and r.count >= r.start:
        errs.append(f"models.{mid}.repeat.count: N at offset {r.count} lies inside the blocks")
    return Repeat(r.start, r.size, r.count, r.max, tuple(pts))


def _compile(m: _Map, source: str) -> tuple[RegisterMap | None, list[str]]:
    errs: list[str] = []
    lim = Limits(**m.limits.model_dump())
    if m.kind == "fixed":
        if not m.points:
            errs.append("points: a fixed map needs at least one point")
        pts = []
        for i, p in enumerate(m.points):
            where = f"points[{i}] ({p.field})"
            if INDEX in p.field:
                errs.append(f"{where}: {INDEX} belongs in a SunSpec repeat: block; name the index")
                continue
            if p.address is None or p.offset is not None:
                errs.append(f"{where}: give address: (and no offset:) in a fixed map")
                continue
            addr = p.address - m.address_base
            sf = None
            if isinstance(p.sf, str):
                errs.append(f"{where}: sf: must be a register address in a fixed map")
                continue
            if p.sf is not None:
                sf = p.sf - m.address_base
            if addr < 0:
                errs.append(f"{where}: address {p.address} is below address_base {m.address_base}")
                continue
            pts.append(_point(p, m, addr, sf))
        seen: dict[str, int] = {}
        for i, p in enumerate(pts):
            if p.field in seen and not p.alternate:
                errs.append(f"points[{i}]: field {p.field} also at points[{seen[p.field]}]")
            seen[p.field] = i
        for i, p in enumerate(pts):
            lo, hi = p.span
            if hi - lo + 1 > lim.max_registers:
                errs.append(
                    f"points[{i}] ({p.field}): value and scale factor span {hi - lo + 1} "
                    f"registers, more than limits.max_registers {lim.max_registers}"
                )
        if errs:
            return None, errs
        return RegisterMap(
            m.map,
            "fixed",
            m.vendor,
            m.document,
            lim,
            points=tuple(pts),
            source=source,
            **_extras(m),
        ), []
    # sunspec
    if m.points:
        errs.append("points: a sunspec map lists points per model under models:")
    if not m.models:
        errs.append("models: a sunspec map needs at least one model")
    models: dict[int, SunSpecModel] = {}
    for mid, mod in m.models.items():
        pts = []
        for i, p in enumerate(mod.points):
            where = f"models.{mid}.points[{i}] ({p.field})"
            if INDEX in p.field:
                errs.append(f"{where}: a point with {INDEX} belongs under the model's repeat:")
                continue
            if p.offset is None or p.address is not None:
                errs.append(f"{where}: give offset: (from the model's ID register), no address:")
                continue
            sf = None
            if p.sf is not None:
                if not isinstance(p.sf, str) or p.sf not in mod.scale_factors:
                    errs.append(f"{where}: sf {p.sf!r} is not in this model's scale_factors")
                    continue
                sf = mod.scale_factors[p.sf]
            pt = _point(p, m, p.offset, sf)
            end = max(pt.span[1], pt.address + pt.size - 1)
            if pt.address < 2 or end > mod.length + 1:
                errs.append(f"{where}: offset outside the model (2..{mod.length + 1})")
                continue
            pts.append(pt)
        for name, off in mod.scale_factors.items():
            if not 2 <= off <= mod.length + 1:
                errs.append(f"models.{mid}.scale_factors.{name}: offset {off} outside the model")
        rep = _repeat(mid, mod, m, errs) if mod.repeat else None
        models[mid] = SunSpecModel(
            mid,
            mod.name,
            mod.length,
            tuple(pts),
            MappingProxyType(dict(mod.scale_factors)),
            rep,
        )
    for mid in m.typical_layout:
        if mid != 1 and mid not in models:
            errs.append(f"typical_layout: model {mid} is not defined under models:")
    if errs:
        return None, errs
    disc = m.discovery or _Discovery()
    return (
        RegisterMap(
            m.map,
            "sunspec",
            m.vendor,
            m.document,
            lim,
            bases=tuple(disc.bases),
            models=MappingProxyType(models),
            typical_layout=tuple(m.typical_layout),
            source=source,
            **_extras(m),
        ),
        [],
    )


def parse_map(text: str, source: str = "<map>") -> RegisterMap:
    """Validate and compile one map from YAML text; BadInput lists every problem."""
    name = Path(source).name
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadInput([Problem("", f"not valid YAML: {exc}", file=name)], what=source) from None
    try:
        raw = _Map.model_validate(data if data is not None else {})
    except ValidationError as exc:
        probs = [
            Problem(
                ".".join(str(x) for x in e["loc"]) or "(top)",
                e["msg"].removeprefix("Value error, "),
                file=name,
            )
            for e in exc.errors()
        ]
        raise BadInput(probs, what=source) from None
    rmap, errs = _compile(raw, source)
    if errs or rmap is None:
        raise BadInput(
            [Problem(e.split(":", 1)[0], e.split(":", 1)[-1].strip(), file=name) for e in errs],
            what=source,
        )
    if rmap.name != Path(source).stem and source != "<map>":
        raise BadInput(
            [
                Problem(
                    "map",
                    f"map name {rmap.name!r} differs from the file name",
                    "name the file <map>.yaml",
                    file=name,
                )
            ],
            what=source,
        )
    return rmap


def fault_text(rmap: RegisterMap, code: int, lang: str = "en") -> str:
    """``Sungrow fault 0x0002: grid overvoltage`` (zh: ``阳光电源 故障 0x0002：电网过压``).

    A code the map has no text for still names the vendor and the code, never just a number.
    """
    vendor_en = rmap.vendor.split(" (")[0]
    vendor_zh = rmap.vendor.split("(")[-1].rstrip(")") if "(" in rmap.vendor else vendor_en
    text = rmap.faults.get(code)
    if lang == "zh":
        what = text.zh if text else "未知故障码（见厂家手册）"
        return f"{vendor_zh} 故障 0x{code:04X}：{what}"
    what = text.en if text else "code not in the map (see the vendor manual)"
    return f"{vendor_en} fault 0x{code:04X}: {what}"


def map_dirs() -> list[Path]:
    """Folders searched for map files: $PVLEDGER_MODBUS_MAPS entries, then the shipped maps."""
    extra = [Path(p) for p in os.environ.get(MAPS_PATH_ENV, "").split(os.pathsep) if p]
    return [*extra, MAPS_DIR]


def map_names() -> list[str]:
    """Names of every available map."""
    return sorted({p.stem for d in map_dirs() if d.is_dir() for p in d.glob("*.yaml")})


@cache
def _load(path: str, mtime: float) -> RegisterMap:
    return parse_map(Path(path).read_text(encoding="utf-8"), path)


def load_map(name: str) -> RegisterMap:
    """The validated map called ``name`` (first match along map_dirs()); BadInput if unknown."""
    for d in map_dirs():
        p = d / f"{name}.yaml"
        if p.is_file():
            return _load(str(p), p.stat().st_mtime)
    raise BadInput(
        [Problem("map", f"no register map {name!r}", f"use one of {', '.join(map_names())}")],
        what="register maps",
    )


def load_maps(names: Any) -> dict[str, RegisterMap]:
    """Load several maps, collecting every problem of every map into one BadInput."""
    out: dict[str, RegisterMap] = {}
    problems: list[Problem] = []
    for n in sorted(set(names)):
        try:
            out[n] = load_map(n)
        except BadInput as exc:
            problems.extend(exc.problems)
    if problems:
        raise BadInput(problems, what="register maps")
    return out
