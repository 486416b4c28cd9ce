"""The alerts component inside the gateway Service: scheduled on the service clock,
evaluating against the sink's store, open alerts exported as metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alerts.component import from_config
from alerts.state import AlertDb
from collector.metrics import Metrics
from collector.service import Service
from core.clock import ScaledClock
from tests.alerts.fleet import fill, local_ms, write_config

DAY = "2018-07-10"


def test_component_evaluates_on_the_simulated_clock(tmp_path: Path):
    cfg = write_config(tmp_path)
    stop_from = local_ms(DAY, "10:00")
    store = fill(
        cfg,
        local_ms(DAY, "05:00"),
        local_ms(DAY, "13:00"),
        lambda sid, t: 0.0 if sid == "s-b3" and t >= stop_from else 0.8,
    )
    comp = from_config(cfg)
    assert comp is not None and comp.name == "alerts"
    metrics = Metrics()
    # 300 simulated seconds between evaluations = 0.5 s of wall time at 600x
    clock = ScaledClock.starting(local_ms(DAY, "11:00"), 600.0)
    service = Service(cfg, store, [comp], clock=clock, metrics=metrics)

    async def scenario() -> str:
        task = asyncio.create_task(service.run(install_signals=False))
        text = ""
        for _ in range(600):  # up to a minute on a loaded machine
            await asyncio.sleep(0.1)
            text = metrics.render()
            if 'pvledger_alerts_open{kind="no_output",state="firing"} 1' in text:
                break
        service.request_stop()
        await task
        return text

    try:
        text = asyncio.run(scenario())
        assert 'pvledger_alerts_open{kind="no_output",state="firing"} 1' in text
        assert 'pvledger_alerts_open{kind="comm_lost",state="firing"} 0' in text
        assert (metrics.get("pvledger_alert_evaluations_total") or 0) >= 1
    finally:
        store.close()
    db = AlertDb(cfg.resolve(cfg.alerts.db_path))
    try:
        (alert,) = db.open_alerts()
        assert (alert.kind, alert.subject, alert.state) == ("no_output", "s-b3-log", "firing")
    finally:
        db.close()


def test_no_rules_no_component(tmp_path: Path):
    cfg = write_config(tmp_path, rules="    []")
    assert from_config(cfg) is None
