"""The simulator's register images as they were written by hand, before issue 13.

A frozen copy of simulator/registers.py at d24962e (sunspec_blank, dead code,
left out), kept only so tests/modbus/test_sim_images.py can prove that the images now
encoded from the map files are the same, word for word. Do not edit.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

SUNSPEC_BASE = 40000
M1_AT, M103_AT, M120_AT, END_AT = 40002, 40070, 40122, 40150
#: canonical status -> SunSpec St
SUNSPEC_ST = {0: 2, 1: 4, 2: 5, 3: 7, 4: 6, 5: 3}
#: canonical status -> Huawei device status
HUAWEI_ST = {0: 0xA000, 1: 0x0200, 2: 0x0201, 3: 0x0300, 4: 0x0308, 5: 0x0000}
#: fault code -> SunSpec Evt1 bits (0 GROUND_FAULT for a stop, 4 GRID_DISCONNECT outage)
EVT1 = {2062: 1 << 0, 2032: 1 << 4}
NOT_INT16 = 0x8000
NOT_UINT16 = 0xFFFF


def _s16(v: int) -> int:
    v = int(v)
    if not -32768 <= v <= 32767:
        return NOT_INT16
    return v & 0xFFFF


def _u32(v: int) -> list[int]:
    v = int(v) & 0xFFFFFFFF
    return [v >> 16, v & 0xFFFF]


def _s32(v: int) -> list[int]:
    return _u32(int(v) & 0xFFFFFFFF)


def _f32(v: float) -> list[int]:
    hi, lo = struct.unpack(">HH", struct.pack(">f", float(v)))
    return [hi, lo]


def _string(s: str, regs: int) -> list[int]:
    b = s.encode()[: regs * 2].ljust(regs * 2, b"\0")
    return [int.from_bytes(b[i : i + 2], "big") for i in range(0, len(b), 2)]


def _power_sf(rated_w: float) -> int:
    """Smallest power-of-ten scale at which the rating fits an int16."""
    sf = 0
    while rated_w / 10**sf > 32767:
        sf += 1
    return sf


def sunspec_image(st: Mapping[str, Any], rated_w: float, model: str, serial: str) -> dict:
    """Blocks for a SunSpec inverter (models 1, 103, 120) at base 40000."""
    step = int(st.get("scale_step", 0))
    w_sf = _power_sf(rated_w) + step
    wh_sf = 0 + step
    m1 = [1, 66]
    m1 += _string("PVLedger Sim", 16) + _string(model, 16) + _string("", 8)
    m1 += _string("1.0.0", 8) + _string(serial, 16) + [1, 0x8000]
    m103 = [103, 50] + [0] * 50
    # unimplemented points carry their sentinels
    for off in range(2, 52):
        m103[off] = NOT_UINT16
    for off in (6, 13, 15, 17, 19, 21, 23, 26, 28, 30, 32, 37):  # scale factors
        m103[off] = NOT_INT16
    for off in (14, 18, 20, 22, 31, 33, 34, 35, 36):  # int16 points
        m103[off] = NOT_INT16
    power = float(st["power_w"])
    m103[14] = _s16(round(power / 10**w_sf))
    m103[15] = w_sf & 0xFFFF
    m103[16], m103[17] = 5000, (-2) & 0xFFFF  # 50.00 Hz
    m103[24:26] = _u32(int(st["energy_total_wh"]) // 10**wh_sf)
    m103[26] = wh_sf & 0xFFFF
    dc = power / 0.97 if power > 0 else 0.0
    m103[31] = _s16(round(dc / 10**w_sf))
    m103[32] = w_sf & 0xFFFF
    m103[33] = _s16(round(float(st["temperature_c"]) * 10))
    m103[37] = (-1) & 0xFFFF
    m103[38] = SUNSPEC_ST.get(int(st["status"]), 2)
    m103[39] = NOT_UINT16
    m103[40:42] = _u32(EVT1.get(int(st.get("fault_code", 0)), 0))
    for off in range(42, 52, 2):
        m103[off : off + 2] = [0, 0]
    m120 = [120, 26, 4] + [NOT_UINT16] * 25
    r_sf = _power_sf(rated_w)
    m120[3] = round(rated_w / 10**r_sf)
    m120[4] = r_sf
    for off in (6, 11, 13, 18, 20, 22, 24, 26):
        m120[off] = NOT_INT16
    m120[27] = 0
    return {
        SUNSPEC_BASE: [0x5375, 0x6E53, *m1, *m103, *m120, 0xFFFF, 0],
    }


def huawei_image(st: Mapping[str, Any], rated_w: float, model: str) -> dict:
    """Blocks for a Huawei SUN2000-style inverter (30000.. and 32064..32115)."""
    ident = _string(model, 15) + [0] * (73 - 15) + _u32(round(rated_w)) + [0]
    live = [0] * 52  # 32064..32115, all defined
    power = float(st["power_w"])
    live[0:2] = _s32(round(power / 0.97) if power > 0 else 0)  # 32064 input power
    live[16:18] = _s32(round(power))  # 32080 active power
    live[23] = _s16(round(float(st["temperature_c"]) * 10))  # 32087
    live[25] = HUAWEI_ST.get(int(st["status"]), 0xA000)  # 32089
    live[26] = int(st.get("fault_code", 0)) & 0xFFFF  # 32090
    live[42:44] = _u32(int(st["energy_total_wh"]) // 10)  # 32106, kWh gain 100
    live[50:52] = _u32(int(st["energy_today_wh"]) // 10)  # 32114
    return {30000: ident, 32064: live}


def dtsu666_image(st: Mapping[str, Any]) -> dict:
    """Blocks for a DTSU666-style meter: Pt (0.1 W, + = import), ImpEp, ExpEp (kWh)."""
    return {
        0x2012: _f32(-float(st["power_w"]) * 10.0),
        0x401E: _f32(int(st["import_wh"]) / 1000.0),
        0x4028: _f32(int(st["export_wh"]) / 1000.0),
    }


def image(kind: str, st: Mapping[str, Any], rated_w: float, model: str, serial: str) -> dict:
    """Register blocks for a device of the given profile kind."""
    if kind == "sunspec":
        return sunspec_image(st, rated_w, model, serial)
    if kind == "huawei":
        return huawei_image(st, rated_w, model)
    if kind == "dtsu666":
        return dtsu666_image(st)
    raise ValueError(f"no register layout for kind {kind!r}")
