"""On the simulated clock, against real SQLite files: a stop opens one work order, the
deadline passes and it escalates, a false "repaired" is reopened by the data, a true one
is verified by it, and an engine restart opens no second order."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from alerts.workorders.model import Refused, transition
from tests.alerts.fleet import fill, local_ms
from tests.workorders.helpers import engine, om_config, orders_db

DAY = "2018-07-10"  # a Tuesday


def every(start: str, end: str, minutes: int = 5) -> list[int]:
    a, b = local_ms(DAY, start), local_ms(DAY, end)
    return list(range(a, b + 1, minutes * 60_000))


def events(cfg, name: str) -> list[dict]:
    db = sqlite3.connect(cfg.resolve(cfg.alerts.db_path))
    try:
        rows = db.execute("SELECT payload FROM events WHERE event = ? ORDER BY id", (name,))
        return [json.loads(r[0]) for r in rows]
    finally:
        db.close()


def test_stop_to_escalation_to_reopen_to_verified(tmp_path: Path):
    cfg = om_config(tmp_path)
    stop_from, stop_to = local_ms(DAY, "10:30"), local_ms(DAY, "14:30")

    def stopped(sid, t):
        return sid == "s-a1" and stop_from <= t < stop_to

    store = fill(
        cfg,
        local_ms(DAY, "05:00"),
        local_ms(DAY, "18:00"),
        lambda sid, t: 0.0 if stopped(sid, t) else 0.8,
        status=lambda sid, t: 3 if stopped(sid, t) else 1,
        fault_code=lambda sid, t: 2062 if stopped(sid, t) else 0,
    )
    eng = engine(cfg, store)
    wo = orders_db(cfg)
    try:
        for t in every("10:00", "11:55"):
            eng.step(t)
        orders = wo.orders()
        # no_output fires after its hour at zero: one stop, one order
        assert [(o.station, o.kind, o.state) for o in orders] == [("s-a1", "no_output", "open")]
        order = orders[0]
        assert order.fault_start_ms == stop_from
        assert order.opened_ms == local_ms(DAY, "11:30")
        assert wo.alert_ids(order.id) == [order.alert_id]
        assert events(cfg, "workorder_opened") == []  # the alert itself told them

        # the 2 h deadline from the opening passes: one escalation to level 1
        for t in every("12:00", "13:25"):
            eng.step(t)
        assert events(cfg, "workorder_escalated") == []
        eng.step(local_ms(DAY, "13:30"))
        esc = events(cfg, "workorder_escalated")
        assert [(e["workorder"], e["level"]) for e in esc] == [(order.id, 1)]
        assert (
            order.opened_ms + 2 * 3_600_000
            <= esc[0]["ts_ms"]
            < order.opened_ms + 2 * 3_600_000 + 300_000
        )
        assert wo.get(order.id).level == 1

        # a caretaker claims a repair at 13:35, but the station is still at zero
        o = wo.get(order.id)
        for action, kw in (("assign", {"who": "care-a1"}), ("onsite", {})):
            o = wo.save(*transition(o, action, now_ms=local_ms(DAY, "13:31"), actor="staff", **kw))
        o = wo.save(
            *transition(
                o, "repaired", now_ms=local_ms(DAY, "13:35"), actor="care-a1", note="reset inverter"
            )
        )
        for t in every("13:35", "14:25"):
            eng.step(t)
        o = wo.get(order.id)
        assert o.state == "reopened" and o.reopened_count == 1
        assert len(events(cfg, "workorder_reopened")) == 1

        # the real repair at 14:30: 60 daylight minutes of normal output verify it
        o = wo.save(
            *transition(
                o, "repaired", now_ms=local_ms(DAY, "14:35"), actor="care-a1", note="replaced fuse"
            )
        )
        for t in every("14:35", "15:25"):
            eng.step(t)
        assert wo.get(order.id).state == "repaired"  # 50 minutes are not enough
        for t in every("15:30", "16:00"):
            eng.step(t)
        o = wo.get(order.id)
        assert o.state == "verified"
        assert local_ms(DAY, "15:35") <= o.verified_ms <= local_ms(DAY, "15:45")
        assert o.restored_ms == local_ms(DAY, "14:35")
        assert o.lost_wh > 0 and o.lost_fen > 0
        assert [h.event for h in wo.history(order.id)] == [
            "opened",
            "escalated",
            "assign",
            "onsite",
            "repaired",
            "reopened",
            "repaired",
            "verified",
        ]
    finally:
        wo.close()
        eng.db.close()

    # a restarted engine sees the same alerts: no second order
    eng2 = engine(cfg, store)
    try:
        for t in every("16:05", "16:30"):
            eng2.step(t)
        wo = orders_db(cfg)
        assert len(wo.orders()) == 1
        wo.close()
    finally:
        eng2.db.close()
        store.close()


def test_history_is_append_only_and_bad_transitions_refused(tmp_path: Path):
    cfg = om_config(tmp_path)
    wo = orders_db(cfg)
    try:
        o = wo.open_order(
            kind="manual",
            station="s-b1",
            village="vb",
            fault_start_ms=1,
            now_ms=2,
            opened_by="staff",
        )
        with pytest.raises(Refused, match="allowed only from"):
            transition(o, "verified", now_ms=3, actor="x")
        with pytest.raises(Refused, match="note"):
            transition(o, "repaired", now_ms=3, actor="x", note="  ")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            wo._db.execute("DELETE FROM order_events")
    finally:
        wo.close()


def test_escalation_reaches_a_notifier(tmp_path: Path):
    from alerts.component import close_engine, open_engine
    from tests.alerts.peers import WebhookServer

    hook = WebhookServer().start()
    try:
        cfg = om_config(
            tmp_path,
            notify=f"    - {{type: webhook, url: '{hook.url}', retries: 1, backoff_s: 0.05}}\n",
        )
        stop_from = local_ms(DAY, "10:30")
        store = fill(
            cfg,
            local_ms(DAY, "05:00"),
            local_ms(DAY, "15:00"),
            lambda sid, t: 0.0 if sid == "s-a1" and t >= stop_from else 0.8,
        )
        eng = open_engine(cfg, store, county=True)
        try:
            for t in every("10:00", "13:35"):
                eng.step(t)
        finally:
            close_engine(eng)
            store.close()
        got = [(h["event"], h["kind"], h.get("level")) for h in hook.drain()]
        # the alert at 11:30, its order's deadline 2 h later: level 1 is told, once
        assert got[0] == ("firing", "no_output", None)
        assert [g for g in got if g[0].startswith("workorder")] == [
            ("workorder_escalated", "no_output", 1)
        ]
    finally:
        hook.stop()
