"""How the gateway service ends its alert evaluation (issue 11): the evaluation stops
before the sources of readings, and it leaves no pending alert behind (nothing would
confirm or clear one), while firing and acknowledged ones stay."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from alerts.component import from_config
from alerts.state import AlertDb, Finding
from collector.metrics import Metrics
from collector.service import Service, build_components, stop_order
from core import solar
from core.clock import ScaledClock
from core.reading import Reading
from tests.alerts.fleet import LAT, LON, fill, local_ms, write_config

DAY = "2018-07-10"


def test_the_alert_evaluation_stops_before_the_sources_of_readings(tmp_path: Path):
    cfg = write_config(tmp_path)
    started = build_components(cfg)  # in COMPONENTS order, as Service.run starts them
    names = [c.name for c in started]
    assert "alerts" in names and "mqtt" in names
    # started after MQTT ingestion would be enough for "stopped first" only by accident
    assert names.index("alerts") < names.index("mqtt")
    order = [c.name for c in stop_order(started)]
    assert order[0] == "alerts"
    assert sorted(order) == sorted(names)  # every started component stopped, once
    rest = [n for n in names if n != "alerts"]
    assert order[1:] == rest[::-1]  # the others newest first, as before


class Loggers:
    """A source of readings inside the Service, as MQTT ingestion would be: every
    logger's power each simulated minute, written to the sink; a station in `silent`
    sends nothing, one in `stopped` sends 0 W."""

    name = "loggers"

    def __init__(self, config, silent: set[str], stopped: set[str]):
        self.config = config
        self.silent, self.stopped = silent, stopped
        self._task: asyncio.Task | None = None

    async def start(self, ctx) -> None:
        self._task = asyncio.create_task(self._run(ctx))

    async def _run(self, ctx) -> None:
        while True:
            now = ctx.clock.now_ms()
            expected = float(solar.expected_power_w(3.0, [now], LAT, LON)[0])
            ctx.sink.write(
                Reading(
                    st.id,
                    st.devices[0].id,
                    now,
                    {"power_w": 0.0 if st.id in self.stopped else round(0.8 * expected, 1)},
                    village=st.village,
                    gateway="gw-1",
                )
                for st in self.config.stations
                if st.id not in self.silent
            )
            await asyncio.sleep(ctx.clock.sleep_s(60))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def test_stopping_leaves_the_firing_alert_and_no_pending_one(tmp_path: Path):
    cfg = write_config(tmp_path)
    stop_from = local_ms(DAY, "10:00")
    store = fill(
        cfg,
        local_ms(DAY, "05:00"),
        local_ms(DAY, "11:00"),
        lambda sid, t: 0.0 if sid == "s-b3" and t >= stop_from else 0.8,
    )
    comp = from_config(cfg)
    assert comp is not None
    metrics = Metrics()
    # from 11:00 s-b3 still sends 0 W (its no_output fires at once: stopped since 10:00)
    # and s-a1 falls silent: its comm_lost turns pending after the grace (180 s, 0.6 s of
    # wall time at 300x) and would fire only after for_s (1800 s, 6 s)
    source = Loggers(cfg, silent={"s-a1"}, stopped={"s-b3"})
    clock = ScaledClock.starting(local_ms(DAY, "11:00"), 300.0)
    service = Service(cfg, store, [source, comp], clock=clock, metrics=metrics)
    firing = 'pvledger_alerts_open{kind="no_output",state="firing"} 1'
    pending = 'pvledger_alerts_open{kind="comm_lost",state="pending"} 1'

    async def scenario() -> str:
        task = asyncio.create_task(service.run(install_signals=False))
        text = ""
        for _ in range(1200):  # up to a minute on a loaded machine
            await asyncio.sleep(0.05)
            text = metrics.render()
            if firing in text and pending in text:
                break
        service.request_stop()
        await task
        return text

    try:
        text = asyncio.run(scenario())
    finally:
        store.close()
    # what stood just before the stop: the stop's alert firing, the silence pending
    assert firing in text and pending in text, text
    db = AlertDb(cfg.resolve(cfg.alerts.db_path))
    try:
        left = [(a.kind, a.subject, a.state) for a in db.alerts()]
    finally:
        db.close()
    assert left == [("no_output", "s-b3-log", "firing")]


def test_drop_pending_keeps_firing_and_acknowledged_alerts(tmp_path: Path):
    db = AlertDb(tmp_path / "alerts.db")
    now = local_ms(DAY, "11:00")

    def finding(kind: str, subject: str, since: str, for_s: float) -> Finding:
        return Finding(kind, subject, local_ms(DAY, since), for_s, station=subject[:4])

    try:
        db.apply(
            [
                finding("no_output", "s-b3-log", "09:30", 3600),  # an hour and a half: fires
                finding("comm_lost", "s-a1-log", "10:55", 1800),  # five minutes: pending
                finding("comm_lost", "s-a2-log", "10:50", 1800),  # pending, then acked
            ],
            now_ms=now,
            kinds={"no_output", "comm_lost"},
            clear_s={},
            renotify_s=7200,
            notifiers=[],
            describe=lambda a, e, n: {},
        )
        acked = next(a for a in db.open_alerts() if a.subject == "s-a2-log")
        db.ack(acked.id, now_ms=now, note="on my way")
        assert sorted(a.state for a in db.open_alerts()) == ["firing", "pending", "pending"]
        assert db.drop_pending() == 1
        left = sorted((a.subject, a.state) for a in db.alerts())
    finally:
        db.close()
    assert left == [("s-a2-log", "pending"), ("s-b3-log", "firing")]


def test_a_pending_alert_counts_from_the_current_condition(tmp_path: Path):
    """Silences of four minutes with a reading between them (a logger the simulator can
    only serve every few minutes on a busy machine) never add up to a 30-minute
    comm_lost; one silence that lasts does."""
    db = AlertDb(tmp_path / "alerts.db")
    kinds = {"comm_lost"}

    def step(now_ms: int, findings: list[Finding]) -> list:
        return db.apply(
            findings,
            now_ms=now_ms,
            kinds=kinds,
            clear_s={"comm_lost": 0},
            renotify_s=7200,
            notifiers=[],
            describe=lambda a, e, n: {},
        )

    start = local_ms(DAY, "10:00")
    minute = 60_000
    fired = []
    try:
        # every 5 minutes an evaluation finds the flaky logger silent for 4 minutes
        # (heard 4 minutes ago, a new silence each time), the dead one silent since 10:00
        for k in range(1, 13):  # 10:05 .. 11:00
            now = start + 5 * k * minute
            fired += step(
                now,
                [
                    Finding("comm_lost", "flaky-log", now - 4 * minute, 1800),
                    Finding("comm_lost", "dead-log", start, 1800),
                ],
            )
        rows = {a.subject: a for a in db.open_alerts()}
    finally:
        db.close()
    assert [(e.event, e.alert_id) for e in fired] == [("firing", rows["dead-log"].id)]
    assert rows["dead-log"].state == "firing" and rows["dead-log"].since_ms == start
    # still open, as pending, from its latest silence
    assert rows["flaky-log"].state == "pending"
    assert rows["flaky-log"].since_ms == local_ms(DAY, "10:56")
