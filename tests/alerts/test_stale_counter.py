"""stale_counter: a counter frozen for a whole sunny day while power is reported fires once
(against a real SQLite store); a stopped inverter is no_output's, a dull day judges nothing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from alerts.engine import Engine
from alerts.state import AlertDb
from core.config import Config
from core.store import SqliteStore
from tests.alerts.fleet import local_ms, readings, write_config

YESTERDAY, TODAY = "2018-07-09", "2018-07-10"
FROZEN_WH = 777_000
RULES = (
    "    - {kind: stale_counter}\n"
    '    - {kind: no_output, for_s: 3600, peer_min_share: "20"}\n'
    "    - {kind: comm_lost, for_s: 1800}\n"
)


def fleet_store(cfg: Config, day_share: float) -> SqliteStore:
    """Yesterday at day_share of clear sky and today at 0.8; s-b2's counter frozen at
    FROZEN_WH from yesterday's first reading (its power is normal); s-a3 stopped."""
    store = SqliteStore(cfg.resolve(cfg.storage.path), timezone="Asia/Shanghai")
    today = local_ms(TODAY, "00:00")

    def share(sid: str, t: int) -> float:
        if sid == "s-a3":
            return 0.0
        return day_share if t < today else 0.8

    out = []
    for r in readings(cfg, local_ms(YESTERDAY, "00:00"), local_ms(TODAY, "23:00"), share):
        if r.station == "s-b2":
            r = dataclasses.replace(r, values={**r.values, "energy_total_wh": FROZEN_WH})
        out.append(r)
    store.write(out)
    return store


def steps(eng: Engine, start: str, end: str, minutes: int = 10) -> list:
    events, t = [], local_ms(TODAY, start)
    while t <= local_ms(TODAY, end):
        events += eng.step(t)
        t += minutes * 60_000
    return events


def test_a_counter_frozen_through_a_sunny_day_while_power_is_reported_fires(tmp_path: Path):
    cfg = write_config(tmp_path, rules=RULES)
    store = fleet_store(cfg, day_share=0.8)
    eng = Engine(cfg, store, AlertDb(cfg.resolve(cfg.alerts.db_path)))
    try:
        events = steps(eng, "07:00", "12:00")
        fired = sorted(
            (e.payload["kind"], e.payload["subject"]) for e in events if e.event == "firing"
        )
        # s-a3 is stopped: one no_output, and its flat counter is not told twice
        assert fired == [("no_output", "s-a3-log"), ("stale_counter", "s-b2-log")]
        p = next(e.payload for e in events if e.payload["kind"] == "stale_counter")
        assert p["seen"]["counter_wh"] == FROZEN_WH and p["seen"]["peer_kwh_per_kwp"] >= 2.0
        assert p["since"] == f"{YESTERDAY} 00:00"
        assert f"stuck at {FROZEN_WH} Wh" in p["seen_text"]
        assert p["lost_income_fen"] is None  # it produces: only the counting is wrong
        # at night no power is reported: the open alert is held, not resolved
        assert [e for e in steps(eng, "21:00", "22:30", 30) if e.event == "resolved"] == []
        assert ("stale_counter", "s-b2-log", "firing") in {
            (a.kind, a.subject, a.state) for a in eng.db.open_alerts()
        }
    finally:
        eng.db.close()
        store.close()


def test_a_dull_day_judges_no_counter(tmp_path: Path):
    cfg = write_config(tmp_path, rules=RULES)
    store = fleet_store(cfg, day_share=0.05)  # yesterday overcast: the peers made little
    eng = Engine(cfg, store, AlertDb(cfg.resolve(cfg.alerts.db_path)))
    try:
        events = steps(eng, "07:00", "12:00")
        assert [e for e in events if e.payload["kind"] == "stale_counter"] == []
    finally:
        eng.db.close()
        store.close()
