"""Lost energy and income of a work order against a hand computation, to the fen."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from alerts.fleet import FleetIndex
from alerts.workorders.evidence import estimate
from alerts.workorders.model import WorkOrder
from core.reading import Reading
from core.store import SqliteStore
from tests.alerts.fleet import local_ms
from tests.workorders.helpers import om_config

DAY = "2018-07-10"
PEER_W = 1873.4  # every other roof, constant
LOW_W = 312.5  # the faulty roof during the fault


def write(cfg, power) -> SqliteStore:
    store = SqliteStore(cfg.resolve(cfg.storage.path), timezone="Asia/Shanghai")
    rows = []
    for st in cfg.stations:
        for t in range(local_ms(DAY, "09:00"), local_ms(DAY, "13:00"), 60_000):
            rows.append(
                Reading(
                    st.id, st.devices[0].id, t, {"power_w": power(st.id, t)}, village=st.village
                )
            )
    store.write(rows)
    return store


def order(start: int, end: int, station: str = "s-a1") -> WorkOrder:
    return WorkOrder(
        id=1,
        kind="no_output",
        station=station,
        village="va",
        alert_id=None,
        opened_ms=start,
        opened_by="test",
        fault_start_ms=start,
        state="verified",
        restored_ms=end,
    )


def test_lost_income_matches_the_hand_computation(tmp_path: Path):
    cfg = om_config(tmp_path)
    start, end = local_ms(DAY, "10:05"), local_ms(DAY, "12:40")

    def power(sid, t):
        return LOW_W if sid == "s-a1" and start <= t < end else PEER_W

    store = write(cfg, power)
    try:
        wh, fen = estimate(store, FleetIndex(cfg), order(start, end), end)
    finally:
        store.close()
    # by hand: same-size peers at 1873.4 W say the roof should have made 1873.4 W; it made
    # 312.5 W for 31 five-minute bins (10:05..12:40):
    # (1873.4 - 312.5) W x 31 x 5/60 h = 4032.325 Wh -> 4032 Wh;
    # 4032 Wh x 0.85 yuan/kWh (coal 0.4143 + subsidy 0.4357) = 3.4272 yuan -> 343 fen
    hand_wh = (Decimal("1873.4") - Decimal("312.5")) * 31 * 5 / 60
    assert hand_wh == Decimal("4032.325")
    hand_fen = (Decimal(4032) * Decimal("0.85") / 10).quantize(Decimal(1), ROUND_HALF_UP)
    assert (wh, fen) == (4032, int(hand_fen)) == (4032, 343)


def test_village_without_peers_uses_the_other_villages(tmp_path: Path):
    cfg = om_config(tmp_path)
    start, end = local_ms(DAY, "10:05"), local_ms(DAY, "12:40")

    def power(sid, t):
        # the whole of village va is low, so its stations are no peers of each other
        return LOW_W if sid.startswith("s-a") and start <= t < end else PEER_W

    store = write(cfg, power)
    try:
        fleet = FleetIndex(cfg)
        o = order(start, end)
        wh, fen = estimate(store, fleet, o, end, exclude={"s-a2", "s-a3"})
    finally:
        store.close()
    assert (wh, fen) == (4032, 343)  # vb's roofs, same size and output, stand in
