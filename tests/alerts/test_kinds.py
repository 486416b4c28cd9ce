"""The registry of alert kinds (one module each), their rule models in the config, and an
engine that survives a kind that raises."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from alerts.engine import Engine
from alerts.kinds import kinds
from alerts.state import AlertDb
from core.config.alerts import Alerts, RuleBase
from core.reading import Reading
from tests.alerts.fleet import fill, local_ms, write_config
from tests.conftest import ROOT

DAY = "2018-07-10"
KINDS_DIR = ROOT / "alerts" / "kinds"


def test_every_module_in_the_folder_is_a_registered_kind():
    modules = sorted(p.stem for p in KINDS_DIR.glob("*.py") if not p.stem.startswith("_"))
    assert list(kinds()) == modules
    for name, k in kinds().items():
        assert k.rule_model.model_fields["kind"].annotation.__args__ == (name,)
        assert set(k.names) == {"zh", "en"} and all(k.names.values())
        for by, attr in k.suppressed_by.items():
            assert by in kinds() and attr in ("gateway", "village", "device", "station")


def _own_fields(name: str) -> set[str]:
    return set(kinds()[name].rule_model.model_fields) - set(RuleBase.model_fields)


@pytest.mark.parametrize("kind", sorted(kinds()))
def test_a_threshold_of_another_kind_is_refused_with_its_key_path(kind: str):
    strays = sorted({f for k in kinds() if k != kind for f in _own_fields(k)} - _own_fields(kind))
    assert strays  # every kind has someone else's threshold to refuse
    for field in strays:
        owner = next(k for k in sorted(kinds()) if field in _own_fields(k))
        value = kinds()[owner].rule_model.model_fields[field].default
        value = str(value) if not isinstance(value, (bool, int, float)) else value
        with pytest.raises(ValidationError) as exc:
            Alerts.model_validate({"rules": [{"kind": kind, field: value}]})
        (err,) = exc.value.errors()
        assert err["loc"] == ("rules", 0, field)
        assert f"not a threshold of {kind}" in err["msg"] and owner in err["msg"]
    # its own thresholds at their defaults load, as that kind's model
    own = {f: kinds()[kind].rule_model.model_fields[f].default for f in _own_fields(kind)}
    own = {f: (str(v) if not isinstance(v, (bool, int, float)) else v) for f, v in own.items()}
    (rule,) = Alerts.model_validate({"rules": [{"kind": kind, **own}]}).rules
    assert type(rule) is kinds()[kind].rule_model


def test_core_loads_a_config_without_rules_without_the_alerts_package(tmp_path: Path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("site: {name: t, latitude: 27.1, longitude: 114.9}\n", encoding="utf-8")
    probe = (
        "import json, sys\nfrom core.config import load_config\n"
        f"load_config({str(cfg)!r})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'alerts' "
        "or m.startswith('alerts.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_a_kind_that_raises_is_logged_once_and_the_others_still_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    cfg = write_config(tmp_path)
    stop_from = local_ms(DAY, "10:30")
    store = fill(
        cfg,
        local_ms(DAY, "05:00"),
        local_ms(DAY, "14:00"),
        lambda sid, t: 0.0 if sid == "s-a1" and t >= stop_from else 0.8,
    )
    # s-b1's counter runs backwards once at 10:01: a counter_anomaly (for_s 0)
    store.write(
        [Reading("s-b1", "s-b1-log", local_ms(DAY, "10:01") + 30_000, {"energy_total_wh": 5})]
    )
    eng = Engine(cfg, store, AlertDb(cfg.resolve(cfg.alerts.db_path)))
    real = eng.kinds["counter_anomaly"]
    calls = []

    def broken(snap, fleet, rule):
        calls.append(snap.now_ms)
        raise RuntimeError("a bug in one kind")

    def step(hhmm: str):
        return eng.step(local_ms(DAY, hhmm))

    def open_kinds():
        return sorted((a.kind, a.subject, a.state) for a in eng.db.open_alerts())

    try:
        step("10:05")
        assert ("counter_anomaly", "s-b1-log", "firing") in open_kinds()
        eng.kinds["counter_anomaly"] = dataclasses.replace(real, evaluate=broken)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="alerts"):
            events = []
            for hhmm in ("10:30", "11:00", "11:30", "12:00", "12:30", "13:00"):
                events += step(hhmm)
        assert len(calls) == 6  # it was asked every time ...
        failed = [r for r in caplog.records if "counter_anomaly failed" in r.getMessage()]
        assert len(failed) == 1 and failed[0].exc_info is not None  # ... and logged once
        # the other kinds ran: s-a1's stop fired after its hour at zero
        assert [
            (e.payload["kind"], e.payload["subject"]) for e in events if e.event == "firing"
        ] == [("no_output", "s-a1-log")]
        # the failing kind's open alert is left alone, though its anomaly left the window
        assert ("counter_anomaly", "s-b1-log", "firing") in open_kinds()
        eng.kinds["counter_anomaly"] = real
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="alerts"):
            events = step("13:05") + step("13:20")
        assert [r.getMessage() for r in caplog.records if "evaluates again" in r.getMessage()] == [
            "alert kind counter_anomaly evaluates again"
        ]
        assert [(e.event, e.payload["kind"]) for e in events] == [("resolved", "counter_anomaly")]
    finally:
        eng.db.close()
        store.close()


def test_every_kind_has_its_row_in_the_docs_naming_its_thresholds():
    rows = {
        line.split("`")[1]: line
        for line in (ROOT / "docs" / "alerts.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    }
    for name in kinds():
        assert name in rows, f"docs/alerts.md has no row for {name}"
        missing = [f for f in sorted(_own_fields(name)) if f"`{f}`" not in rows[name]]
        assert not missing, f"docs/alerts.md row of {name} does not name {missing}"
