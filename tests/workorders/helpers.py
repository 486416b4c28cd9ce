"""The alert tests' fleet (tests/alerts/fleet.py) with an om: section, and an engine with
the work order stage over its real SQLite files."""

from __future__ import annotations

from pathlib import Path

from alerts.state import AlertDb
from alerts.workorders.loop import WorkOrderEngine
from alerts.workorders.store import WorkOrderDb
from core.config import Config, load_config
from tests.alerts.fleet import write_config

OM = """om:
  deadline_h: {no_output: 2, device_fault: 2, village_outage: 1, comm_lost: 4, manual: 8}
  verify_daylight_min: 60
  reopen_daylight_min: 30
  people:
    - {id: ct-1, name: Contractor One, role: contractor, villages: [va]}
    - {id: ct-2, name: Contractor Two, role: contractor, villages: [vb]}
    - {id: care-a1, name: Caretaker A1, role: caretaker, stations: [s-a1], contractor: ct-1}
"""


def om_config(tmp: Path, om: str = OM, **kw) -> Config:
    """The test fleet's config.yaml with an om: section appended, loaded."""
    write_config(tmp, **kw)
    path = tmp / "config.yaml"
    path.write_text(path.read_text(encoding="utf-8") + om, encoding="utf-8")
    return load_config(path)


def engine(config: Config, store) -> WorkOrderEngine:
    """A county-side engine with work orders over the config's files."""
    db = AlertDb(config.resolve(config.alerts.db_path))
    return WorkOrderEngine(config, store, db, county=True)


def orders_db(config: Config) -> WorkOrderDb:
    """The config's work order file."""
    return WorkOrderDb(config.resolve(config.om.db_path))
