"""`pvledger probe`: which shipped register map fits an unknown Modbus device.

Reads each map's identification registers (its ``signatures:``), and for every map
whose signature matches polls the device once through the collector's own poller: a
map fits when that poll answers every request and decodes every field without a
decode error. Prints the fitting maps (best first) with their sample decode, so a
technician can write the device into config.yaml without guessing. Read-only: only
FC3/FC4 requests are sent.

Exit codes: 0 a map fits; 1 no map fits (or the device does not answer at all);
2 bad arguments.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.clock import Clock

if TYPE_CHECKING:
    from collector.modbus.regmap import RegisterMap, Signature
    from collector.modbus.transport import Endpoint
    from core.reading import Reading

EXIT_NO_FIT = 1
#: fields whose value says which role a map is for
METER_FIELDS = frozenset({"export_wh", "import_wh"})


@dataclass(frozen=True)
class Fit:
    """A map whose signature matched, and what one poll with it gave."""

    name: str
    strong: bool  # the signature tested content (text or codes), not just presence
    reading: Reading


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "probe",
        help="identify an unknown Modbus device: which shipped map fits",
        description="Read the identification registers of a Modbus device, try every "
        "shipped register map's signature and print which map fits, with a sample "
        "decode. Exit 0 when a map fits, 1 when none does (or nothing answers).",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--host", help="Modbus TCP host (inverter, dongle or RS485 gateway)")
    where.add_argument("--serial", metavar="PORT", help="RS485 serial port, e.g. /dev/ttyUSB0")
    p.add_argument("--port", type=int, default=502, help="TCP port (default 502)")
    p.add_argument("--baud", type=int, default=9600, help="serial baud rate (default 9600)")
    p.add_argument("--unit", type=int, default=1, help="Modbus unit id (default 1)")
    p.add_argument("--timeout", type=float, default=1.0, help="response timeout [s]")
    p.add_argument("--map", dest="maps", action="append", help="try only this map (repeatable)")
    p.set_defaults(func=run)


def matches(sig: Signature, words: list[int]) -> bool:
    """Whether the registers read for a signature hold what it expects."""
    if sig.any_value:
        return True
    if sig.values:
        return words[0] in sig.values
    text = b"".join(w.to_bytes(2, "big") for w in words).decode("ascii", "replace")
    return text.startswith(sig.prefix)


async def _signature(ep: Endpoint, unit: int, rmap: RegisterMap) -> bool | None:
    """True (strong match), False (weak match) or None (no match) for one map.

    Every ``absent`` signature must be refused by the device, and one other must match.
    """
    from collector.modbus.transport import DeviceError

    for sig in (s for s in rmap.signatures if s.absent):
        try:
            async with ep.lock:
                await ep.read(sig.function, sig.address, sig.count, unit)
        except DeviceError:
            continue
        return None
    for sig in (s for s in rmap.signatures if not s.absent):
        try:
            async with ep.lock:
                words = list(await ep.read(sig.function, sig.address, sig.count, unit))
        except DeviceError:
            continue
        if matches(sig, words):
            return not sig.any_value
    return None


def _role(rmap: RegisterMap) -> str:
    fields = {p.field for p in rmap.points}
    return "meter" if fields & METER_FIELDS else "inverter"


def fits(reading: Reading) -> bool:
    """A poll fits when every field has a value or an honest 'not implemented'."""
    from core.reading import Quality

    bad = {Quality.DECODE_ERROR, Quality.DEVICE_ERROR, Quality.COMM_ERROR}
    return bool(reading.values) and not (set(reading.quality.values()) & bad)


async def probe(ep: Endpoint, unit: int, names: list[str], clock: Clock) -> list[Fit]:
    """Every map (of ``names``) that fits the device, strong signatures first."""
    from collector.modbus.poller import DevicePoller, DeviceSpec
    from collector.modbus.regmap import load_map
    from collector.modbus.transport import ModbusFailure

    found: list[Fit] = []
    for name in names:
        rmap = load_map(name)
        try:
            strong = await _signature(ep, unit, rmap)
        except ModbusFailure:  # transport: the device (or gateway) is gone for this read
            ep.close()
            continue
        if strong is None:
            continue
        roles = ("inverter", "meter") if rmap.kind == "sunspec" else (_role(rmap),)
        for role in roles:
            spec = DeviceSpec("probe", "probe", unit, ep.key, name, role, 60.0)
            reading = await DevicePoller(spec, rmap, ep, clock).poll()
            if fits(reading):
                label = name if rmap.kind != "sunspec" else f"{name} (role {role})"
                found.append(Fit(label, strong, reading))
    return sorted(found, key=lambda f: not f.strong)


def _describe(fit: Fit) -> str:
    vals = ", ".join(
        f"{k}={v}" if v is not None else f"{k}=- ({fit.reading.quality[k].name.lower()})"
        for k, v in fit.reading.values.items()
    )
    kind = "signature" if fit.strong else "weak signature (register present)"
    return f"  {fit.name}: {kind}; sample: {vals}"


async def _run(args: argparse.Namespace) -> int:
    from collector.modbus.regmap import load_map, map_names
    from collector.modbus.transport import Endpoint, quiet_pymodbus

    quiet_pymodbus()
    names = args.maps or map_names()
    for n in names:
        load_map(n)  # an unknown or broken map is bad input (exit 2), before any network
    if args.serial:
        where = f"{args.serial} @ {args.baud} unit {args.unit}"
        ep = Endpoint(where, serial_port=args.serial, baud=args.baud, timeout_s=args.timeout)
    else:
        where = f"{args.host}:{args.port} unit {args.unit}"
        ep = Endpoint(where, host=args.host, port=args.port, timeout_s=args.timeout)
    try:
        found = await probe(ep, args.unit, names, Clock())
    finally:
        ep.close()
    if not found:
        print(f"{where}: no map fits (tried {', '.join(names)})")
        print("  Read the device's Modbus document and add a map (docs/modbus.md).")
        return EXIT_NO_FIT
    print(f"{where}: {found[0].name.split(' ')[0]} fits")
    for f in found:
        print(_describe(f))
    return 0


def run(args: argparse.Namespace) -> int:
    """Probe the device; 0 when a map fits, 1 when none does."""
    import asyncio

    return asyncio.run(_run(args))
