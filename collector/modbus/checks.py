"""Config checks for Modbus devices, run by `pvledger check` (and the collector at start).

Pure: a loaded Config in, a list of Problems out; no device is asked. What is checked:

- every ``map:`` exists and compiles (the map file's own problems are listed too);
- the map suits the device's role (a meter map on a meter, an inverter map elsewhere);
- serial line settings are possible for Modbus RTU (8 data bits) and fast enough for the
  map's largest planned read to arrive within the device's timeout;
- one RS485 bus, one line setting; one unit id, one device per bus or TCP endpoint,
  with the bus and host spelled any way (``run/rtu`` and ``./run/rtu`` are one bus).

Key paths are those of config.yaml (``stations[3].devices[0].map``); lines are looked up
only when there is a problem to report.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from collector.modbus.plan import plan_requests
from collector.modbus.regmap import RegisterMap, load_map, map_names
from collector.modbus.sunspec import place_points, typical
from core.config import Config
from core.config.model import ModbusRtuDevice, ModbusTcpDevice
from core.config.yamlsrc import KeyPath, load_yaml, render_path
from core.problems import BadInput, Problem

#: Modbus over Serial Line V1.02 §2.5.1: every RTU character carries 8 data bits
RTU_BYTESIZE = 8
#: request frame of a read (unit, function, address, count, CRC) [bytes]
READ_REQUEST_BYTES = 8
#: response frame overhead (unit, function, byte count, CRC) [bytes]
READ_RESPONSE_OVERHEAD = 5
#: silent interval between frames [characters], once before each frame
FRAME_GAP_CHARS = 3.5
#: fields only a meter reports; a map giving them is a meter map
METER_FIELDS = frozenset({"export_wh", "import_wh"})

ModbusDevice = ModbusTcpDevice | ModbusRtuDevice


def _devices(config: Config) -> Iterator[tuple[KeyPath, ModbusDevice]]:
    for i, s in enumerate(config.stations):
        for j, d in enumerate(s.devices):
            if isinstance(d, ModbusTcpDevice | ModbusRtuDevice):
                yield ("stations", i, "devices", j), d


def char_bits(dev: ModbusRtuDevice) -> int:
    """Bits on the wire per character: start, data, parity, stop."""
    return 1 + dev.bytesize + (0 if dev.parity == "N" else 1) + dev.stopbits


def read_wire_s(dev: ModbusRtuDevice, registers: int) -> float:
    """Seconds a read of ``registers`` holds the bus: request, response, two frame gaps."""
    chars = READ_REQUEST_BYTES + READ_RESPONSE_OVERHEAD + 2 * registers + 2 * FRAME_GAP_CHARS
    return chars * char_bits(dev) / dev.baud


def largest_read(rmap: RegisterMap, role: str) -> int:
    """Registers in the biggest request the poller plans for this map (typical layout)."""
    points = rmap.points if rmap.kind == "fixed" else place_points(typical(rmap), rmap, role)
    return max((r.count for r in plan_requests(points, rmap.limits)), default=0)


def map_role(rmap: RegisterMap) -> str | None:
    """``meter`` or ``inverter`` for a fixed map, by the fields it gives; None for SunSpec."""
    if rmap.kind != "fixed":
        return None
    return "meter" if {p.field for p in rmap.points} & METER_FIELDS else "inverter"


def _map_problems(config: Config) -> tuple[list[tuple], list[Problem], dict[str, RegisterMap]]:
    """(per-device problems, the broken map files' own problems, loaded maps by name)."""
    out: list[tuple] = []
    files: list[Problem] = []
    maps: dict[str, RegisterMap] = {}
    failed: dict[str, tuple[str, str]] = {}  # map name -> (message, fix) for every device
    known = map_names()
    for kp, d in _devices(config):
        if d.map not in maps and d.map not in failed:
            if d.map not in known:
                near = difflib.get_close_matches(d.map, known, n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                failed[d.map] = (
                    f"no register map {d.map!r}",
                    f"{hint}use one of {', '.join(known)}",
                )
            else:
                try:
                    maps[d.map] = load_map(d.map)
                except BadInput as exc:
                    files.extend(exc.problems)
                    failed[d.map] = (
                        f"register map {d.map!r} does not load ({len(exc.problems)} problems "
                        "in its file, listed above)",
                        "fix the map file, or name another map",
                    )
        if d.map in failed:
            out.append(((*kp, "map"), *failed[d.map]))
    return out, files, maps


def _role_problems(kp: KeyPath, d: ModbusDevice, rmap: RegisterMap) -> list[tuple]:
    want = map_role(rmap)
    if want is None or (want == "meter") == (d.role == "meter"):
        return []
    fix = "set role: meter" if want == "meter" else "use a meter map, or role: inverter"
    return [((*kp, "role"), f"map {rmap.name!r} is a {want} map but role is {d.role}", fix)]


def _line_problems(kp: KeyPath, d: ModbusRtuDevice, rmap: RegisterMap | None) -> list[tuple]:
    out: list[tuple] = []
    if d.bytesize != RTU_BYTESIZE:
        out.append(
            (
                (*kp, "bytesize"),
                f"Modbus RTU needs 8 data bits, got {d.bytesize} (7 bits is Modbus ASCII)",
                "set bytesize: 8 (or remove it)",
            )
        )
        return out
    if rmap is None:
        return out
    timeout = d.timeout_s if "timeout_s" in d.model_fields_set else rmap.limits.timeout_s
    regs = largest_read(rmap, d.role)
    need = read_wire_s(d, regs)
    if need >= timeout:
        out.append(
            (
                (*kp, "baud"),
                f"at {d.baud} baud the map's largest read ({regs} registers) takes "
                f"{need:.2f} s on the wire, longer than timeout_s {timeout:g}: every such "
                "read would time out",
                f"raise the baud rate (device and config), or set timeout_s: {need * 2:.1f}",
            )
        )
    return out


def _bus_key(config: Config, d: ModbusDevice) -> tuple[str, ...]:
    if isinstance(d, ModbusRtuDevice):
        return ("rtu", str(config.resolve(d.port)))
    host = "127.0.0.1" if d.host.lower() == "localhost" else d.host.lower()
    return ("tcp", host, str(d.port))


def _bus_problems(config: Config) -> list[tuple]:
    out: list[tuple] = []
    line: dict[tuple[str, ...], tuple[str, tuple[Any, ...]]] = {}
    units: dict[tuple[Any, ...], tuple[KeyPath, str, str]] = {}
    for kp, d in _devices(config):
        bus = _bus_key(config, d)
        spelled = d.port if isinstance(d, ModbusRtuDevice) else f"{d.host}:{d.port}"
        # the loader refuses an address written twice alike; what is left here is one bus
        # or host written two ways
        prev = units.setdefault((*bus, d.unit), (kp, d.id, spelled))
        if prev[0] != kp:
            out.append(
                (
                    (*kp, "unit"),
                    f"unit {d.unit} on {spelled} is also device {prev[1]!r} "
                    f"({render_path(prev[0])}) on {prev[2]}: the same bus or endpoint",
                    "give each device on one bus or endpoint its own unit id",
                )
            )
        if isinstance(d, ModbusRtuDevice):
            settings = (d.baud, d.parity, d.stopbits, d.bytesize)
            first = line.setdefault(bus, (d.id, settings))
            if first[1] != settings:
                out.append(
                    (
                        (*kp, "baud"),
                        f"device {d.id!r} on serial port {d.port}: line settings "
                        f"{_show(settings)} differ from {first[0]!r}'s {_show(first[1])}",
                        "give every device on one RS485 bus the same baud, parity, "
                        "stopbits, bytesize",
                    )
                )
    return out


def _show(settings: tuple[Any, ...]) -> str:
    baud, parity, stop, size = settings
    return f"{baud} {size}{parity}{stop}"


def modbus_problems(config: Config) -> list[Problem]:
    """Every problem with the config's Modbus devices (empty when there is none)."""
    found, files, maps = _map_problems(config)
    for kp, d in _devices(config):
        rmap = maps.get(d.map)
        if rmap is not None:
            found += _role_problems(kp, d, rmap)
        if isinstance(d, ModbusRtuDevice):
            found += _line_problems(kp, d, rmap)
    found += _bus_problems(config)
    if not found and not files:
        return []
    lines = _lines(config.path)
    name = Path(config.path).name
    probs = [
        Problem(render_path(kp), msg, fix, file=name, line=lines(kp)) for kp, msg, fix in found
    ]
    return files + sorted(probs, key=lambda p: p.line or 0)


def _lines(path: Path) -> Callable[[KeyPath], int | None]:
    """line_of for the config file (read again: a Config keeps no line numbers)."""
    try:
        src, _ = load_yaml(Path(path))
    except (BadInput, OSError):
        return lambda kp: None
    return src.line_of
