"""Routing, escalation, quiet hours and the daily digest: the pure functions at set
dates and hours (site-local, never the wall clock), then the delivery path against
real HTTP receivers on a simulated clock: held messages arrive when quiet hours end,
an unacknowledged alert reaches the next level, one digest per contact per day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from alerts.delivery import deliver
from alerts.digest import contact_alerts, digest_due, digest_payload
from alerts.message import build_payload
from alerts.notify import build_notifiers
from alerts.quiet import in_quiet, quiet_end
from alerts.routing import chain, decide, labelled, routed_channels
from alerts.state import AlertDb, Finding
from core.config.alerts import QuietHours
from core.problems import BadInput
from tests.alerts.fleet import TZ, local_ms, write_config
from tests.alerts.peers import WebhookServer

DAY = "2018-07-10"
HOUR = 3_600_000


def contacts_yaml(extra: str = "") -> str:
    return (
        "  escalate_after_s: 3600\n"
        "  urgent_kinds: [no_output, village_outage]\n"
        "  contacts:\n"
        "    - {id: care-va, name: 张师傅, channels: [hook-va], villages: [va], digest_hour: 8,\n"
        '       quiet_hours: {start: "22:00", end: "07:00"}}\n'
        "    - {id: care-vb, name: 李师傅, channels: [hook-vb], villages: [vb]}\n"
        "    - {id: lead, name: 运维主管, channels: [hook-lead], level: 1,\n"
        "       kinds: [no_output, comm_lost, village_outage, gateway_silent]}\n" + extra
    )


def notify_yaml(urls: dict[str, str]) -> str:
    return "".join(
        f'    - {{type: webhook, id: {i}, url: "{u}", retries: 0}}\n' for i, u in urls.items()
    )


URLS = {n: f"http://127.0.0.1:9/{n}" for n in ("hook-va", "hook-vb", "hook-lead", "hook-all")}


@pytest.fixture
def config(tmp_path: Path):
    return write_config(
        tmp_path, notify=notify_yaml(URLS), extra_alerts=contacts_yaml(), gateways=True
    )


def local(day: str, hhmm: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=TZ)


# -- quiet hours -------------------------------------------------------------------------
def test_quiet_window_across_midnight():
    q = QuietHours(start="22:00", end="07:00")
    assert [in_quiet(q, local(DAY, t)) for t in ("21:59", "22:00", "23:30", "06:59", "07:00")] == [
        False,
        True,
        True,
        True,
        False,
    ]
    assert quiet_end(q, local(DAY, "23:30")) == local("2018-07-11", "07:00")
    assert quiet_end(q, local(DAY, "03:10")) == local(DAY, "07:00")
    day = QuietHours(start="12:00", end="14:00")
    assert [in_quiet(day, local(DAY, t)) for t in ("11:59", "12:00", "13:59", "14:00")] == [
        False,
        True,
        True,
        False,
    ]


def test_quiet_hours_must_be_a_window(tmp_path: Path):
    with pytest.raises(BadInput, match="start and end are equal"):
        write_config(
            tmp_path,
            notify=notify_yaml(URLS),
            extra_alerts=contacts_yaml(
                '    - {id: x, name: X, channels: [hook-all], quiet_hours: {start: "07:00", '
                'end: "07:00"}}\n'
            ),
        )


# -- routing -----------------------------------------------------------------------------
def firing(kind: str, village: str | None, at: int, **kw) -> dict:
    return {"event": "firing", "kind": kind, "village": village, "fired_ms": at, "ts_ms": at, **kw}


def test_contacts_by_village_and_kind(config):
    t = local_ms(DAY, "11:00")
    assert [c.id for c in chain(config, firing("no_output", "va", t))] == ["care-va", "lead"]
    assert [c.id for c in chain(config, firing("low_performance", "vb", t))] == ["care-vb"]
    assert routed_channels(config) == {"hook-va", "hook-vb", "hook-lead"}
    p = firing("no_output", "va", t)
    assert decide(config, "hook-va", p, now_ms=t).action == "send"
    skip = decide(config, "hook-vb", p, now_ms=t)
    assert skip.action == "skip" and "covers" in skip.reason
    assert decide(config, "hook-all", p, now_ms=t).action == "send"  # unrouted: everything


def test_a_gateway_alert_reaches_the_villages_of_its_gateway(config):
    t = local_ms(DAY, "11:00")
    p = {"event": "firing", "kind": "gateway_silent", "gateway": "gw-vb", "fired_ms": t}
    assert [c.id for c in chain(config, p)] == ["care-vb", "lead"]
    p = {"event": "firing", "kind": "comm_lost", "station": "s-a2", "fired_ms": t}
    assert [c.id for c in chain(config, p)] == ["care-va", "lead"]


def test_escalation_to_the_next_level_when_not_acknowledged(config):
    t = local_ms(DAY, "11:00")
    p = firing("no_output", "va", t)
    held = decide(config, "hook-lead", p, now_ms=t + HOUR - 1)
    assert held.action == "hold" and "2018-07-10 12:00" in held.reason
    sent = decide(config, "hook-lead", p, now_ms=t + HOUR)
    assert (sent.action, sent.level, sent.contacts) == ("send", 1, ("lead",))
    acked = decide(config, "hook-lead", p, now_ms=t + HOUR, acked_ms=t + HOUR // 2)
    assert acked.action == "skip" and "acknowledged" in acked.reason
    gone = decide(config, "hook-lead", p, now_ms=t + HOUR, resolved_ms=t + 600_000)
    assert gone.action == "skip" and "resolved" in gone.reason
    # the resolution reaches the level only if the escalation had reached it
    early = {"event": "resolved", "kind": "no_output", "village": "va", "fired_ms": t}
    assert (
        decide(config, "hook-lead", {**early, "resolved_ms": t + 600_000}, now_ms=t + HOUR).action
        == "skip"
    )
    late = {**early, "resolved_ms": t + 2 * HOUR}
    assert decide(config, "hook-lead", late, now_ms=t + 2 * HOUR).action == "send"
    marked = labelled(config, {**p, "title": "[ALERT] x", "text": "[ALERT] x\nmore"}, sent)
    assert marked["title"] == "[ESCALATED] [ALERT] x"
    assert marked["text"].startswith("[ESCALATED] [ALERT] x\n")
    assert marked["contacts"] == ["lead"] and marked["contact_level"] == 1


def test_a_work_order_event_names_its_level(config):
    t = local_ms(DAY, "15:00")
    p = {
        "event": "workorder_escalated",
        "kind": "no_output",
        "village": "va",
        "ts_ms": t,
        "level": 1,
    }
    assert decide(config, "hook-lead", p, now_ms=t).action == "send"
    assert decide(config, "hook-va", p, now_ms=t).action == "skip"
    assert labelled(config, p, decide(config, "hook-lead", p, now_ms=t)).get("title") is None


def test_quiet_hours_hold_non_urgent_kinds_only(config):
    night = local_ms(DAY, "23:30")
    comm = firing("comm_lost", "va", night)
    held = decide(config, "hook-va", comm, now_ms=night)
    assert held.action == "hold" and "until 07:00" in held.reason
    assert decide(config, "hook-va", comm, now_ms=local_ms("2018-07-11", "06:59")).action == "hold"
    assert decide(config, "hook-va", comm, now_ms=local_ms("2018-07-11", "07:00")).action == "send"
    urgent = firing("no_output", "va", night)
    assert decide(config, "hook-va", urgent, now_ms=night).action == "send"
    # the other village's caretaker keeps no quiet hours
    assert (
        decide(config, "hook-vb", firing("comm_lost", "vb", night), now_ms=night).action == "send"
    )


def test_contacts_refer_to_known_channels_and_villages(tmp_path: Path):
    with pytest.raises(BadInput) as exc:
        write_config(
            tmp_path,
            notify=notify_yaml(URLS),
            extra_alerts=contacts_yaml("    - {id: x, name: X, channels: [hook-nowhere]}\n"),
        )
    text = exc.value.render()
    assert "channels ['hook-nowhere'] name no notifier" in text and "hook-va" in text
    with pytest.raises(BadInput) as exc:
        write_config(
            tmp_path,
            notify=notify_yaml(URLS),
            extra_alerts=contacts_yaml(
                "    - {id: y, name: Y, channels: [hook-all], villages: [vz]}\n"
            ),
        )
    text = exc.value.render()
    assert "unknown village 'vz'" in text and "contacts" in text


# -- the digest --------------------------------------------------------------------------
def fire(db: AlertDb, config, names, kind: str, station: str, village: str, now: int) -> None:
    f = Finding(
        kind=kind,
        subject=f"{station}-log",
        since_ms=now - 2 * HOUR,
        for_s=1800,
        station=station,
        village=village,
        device=f"{station}-log",
        seen={"last_reading_ms": now - 2 * HOUR},
    )

    def describe(alert, event, t):
        return build_payload(config, alert, event, t, expected_wh=None, lost_fen=None)

    db.apply(
        [f],
        now_ms=now,
        kinds=[kind],
        clear_s={kind: 600},
        renotify_s=10**9,
        notifiers=names,
        describe=describe,
    )


def test_digest_due_once_per_local_day(config):
    c = config.alerts.contacts[0]
    assert not digest_due(c, local(DAY, "07:59"), None)
    assert digest_due(c, local(DAY, "08:00"), None)
    assert digest_due(c, local(DAY, "21:00"), "2018-07-09")  # a late start catches up
    assert not digest_due(c, local(DAY, "21:00"), DAY)
    assert not digest_due(c, local(DAY, "22:30"), None)  # never in quiet hours
    assert not digest_due(config.alerts.contacts[1], local(DAY, "08:00"), None)


def test_digest_lists_the_contacts_open_alerts(tmp_path: Path, config):
    db = AlertDb(tmp_path / "d.db")
    try:
        now = local_ms(DAY, "11:00")
        fire(db, config, [], "comm_lost", "s-a1", "va", now)
        fire(db, config, [], "comm_lost", "s-b1", "vb", now)
        mine = contact_alerts(config, config.alerts.contacts[0], db.open_alerts())
        assert [a.station for a in mine] == ["s-a1"]
        p = digest_payload(config, config.alerts.contacts[0], mine, local_ms("2018-07-11", "08:00"))
        assert p["title"] == "[PV alerts digest] 2018-07-11 张师傅: 1 open"
        assert (
            p["text"].split("\n")[1]
            == f"#{mine[0].id} communication lost s-a1 since 2018-07-10 09:00 (not acked)"
        )
        assert p["alert_ids"] == [mine[0].id]
    finally:
        db.close()


# -- through the delivery path, on a simulated clock ----------------------------------------
def test_delivery_holds_escalates_and_digests(tmp_path: Path):
    servers = {n: WebhookServer().start() for n in ("hook-va", "hook-vb", "hook-lead", "hook-all")}
    db = None
    try:
        config = write_config(
            tmp_path,
            notify=notify_yaml({n: s.url for n, s in servers.items()}),
            extra_alerts=contacts_yaml(),
        )
        notifiers = build_notifiers(config)
        db = AlertDb(config.resolve(config.alerts.db_path))
        names = [n.name for n in notifiers]
        night = local_ms(DAY, "23:30")
        fire(db, config, names, "comm_lost", "s-a1", "va", night)
        deliver(notifiers, db, config, night)
        assert [p["station"] for p in servers["hook-all"].drain()] == ["s-a1"]
        assert servers["hook-va"].drain() == [] and servers["hook-vb"].drain() == []
        t = night
        while t < local_ms("2018-07-11", "07:00"):  # every 5 simulated minutes, all night
            t += 300_000
            deliver(notifiers, db, config, t)
            if t == night + HOUR:
                [esc] = servers["hook-lead"].drain()
                assert esc["title"].startswith("[ESCALATED] [ALERT]") and esc["contact_level"] == 1
            if t < local_ms("2018-07-11", "07:00"):
                assert servers["hook-va"].drain() == [], t
        [held] = servers["hook-va"].drain()  # delivered when quiet hours end, once
        assert held["event"] == "firing" and held["station"] == "s-a1"
        assert held["contacts"] == ["care-va"]
        for t in (local_ms("2018-07-11", "07:55"), local_ms("2018-07-11", "08:00")):
            deliver(notifiers, db, config, t)
        [digest] = servers["hook-va"].drain()
        assert digest["event"] == "digest" and digest["alert_ids"] == [1]
        deliver(notifiers, db, config, local_ms("2018-07-11", "12:00"))
        deliver(notifiers, db, config, local_ms("2018-07-12", "08:05"))
        assert [p["day"] for p in servers["hook-va"].drain()] == ["2018-07-12"]
        assert servers["hook-vb"].drain() == [] and servers["hook-lead"].drain() == []
        rows = db._db.execute(
            "SELECT notifier, sent_ms IS NOT NULL, error FROM deliveries ORDER BY notifier"
        ).fetchall()
        assert (
            "hook-vb",
            1,
            "not sent: no contact on hook-vb covers this village and kind",
        ) in rows
    finally:
        if db is not None:
            db.close()
        for s in servers.values():
            s.stop()


# -- properties ----------------------------------------------------------------------------
HHMM = st.integers(0, 23 * 60 + 59).map(lambda m: f"{m // 60:02d}:{m % 60:02d}")


@settings(max_examples=300, deadline=None)
@given(start=HHMM, end=HHMM, minute=st.integers(0, 24 * 60 - 1))
def test_quiet_hours_end_where_they_say(start: str, end: str, minute: int):
    """Inside a window, every minute until quiet_end is quiet and quiet_end is not."""
    assume(start != end)
    q = QuietHours(start=start, end=end)
    t = local(DAY, "00:00") + dt.timedelta(minutes=minute)
    if not in_quiet(q, t):
        return
    stop = quiet_end(q, t)
    assert t < stop <= t + dt.timedelta(hours=24)
    assert not in_quiet(q, stop)
    probe = t
    while probe < stop:
        assert in_quiet(q, probe), probe
        probe += dt.timedelta(minutes=7)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(["no_output", "comm_lost", "low_performance", "village_outage"]),
    village=st.sampled_from(["va", "vb"]),
    minute=st.integers(0, 24 * 60 - 1),
)
def test_an_unacknowledged_event_is_held_or_sent_never_dropped(config, kind, village, minute):
    """For every channel of a contact covering it, an open, unacknowledged event is sent
    or held, and it is sent once its level is due and the contact's quiet hours (if it
    fell in them and the kind is not urgent) have ended."""
    fired = local_ms(DAY, "00:00") + minute * 60_000
    p = firing(kind, village, fired)
    for c in chain(config, p):
        due = fired + c.level * HOUR
        ready = dt.datetime.fromtimestamp(due / 1000, TZ)
        q = c.quiet_hours
        if q is not None and kind not in config.alerts.urgent_kinds and in_quiet(q, ready):
            ready = quiet_end(q, ready)
        ready_ms = int(ready.timestamp() * 1000)
        for ch in c.channels:
            assert decide(config, ch, p, now_ms=fired).action in ("send", "hold")
            if ready_ms > fired:
                assert decide(config, ch, p, now_ms=ready_ms - 60_000).action == "hold"
            assert decide(config, ch, p, now_ms=ready_ms).action == "send"
