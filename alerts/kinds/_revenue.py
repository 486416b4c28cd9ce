"""Where the revenue alert kinds get their findings: a provider pvledger wires by name.

``alerts`` must not import ``revenue`` (docs/architecture.md). The revenue kinds
(meter_mismatch, statement_missing, receivable_overdue, idle_funds) read revenue.db and
the store through a provider named ``"module:function"`` that the command running the
county engine installs with ``use()`` (pvledger/commands/alerts.py names
``revenue.watch:findings``), the way collector/service.py COMPONENTS names
``alerts.component:from_config``. Without a provider (a gateway) they find nothing.

The provider is called at most once per local day and set of rules (the first evaluation
of the day); the other evaluations of that day reuse its findings, so the revenue alerts
are evaluated daily while the engine steps every few minutes.
``provider(config, store, as_of: date, settings: {kind: rule fields}) -> findings``, each
finding with ``kind, subject, since (date), station, village, seen``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from alerts.state import Finding
from core.localday import local_date, local_midnight_ms

if TYPE_CHECKING:
    from alerts.fleet import FleetIndex
    from alerts.snapshot import Snapshot
    from core.config.alerts import RuleBase

#: the revenue kinds (their rules' fields go to the provider as settings)
KINDS = ("meter_mismatch", "statement_missing", "receivable_overdue", "idle_funds")

_provider: dict[str, Any] = {"name": None, "store": None, "fn": None}
#: (config, as_of, settings) -> findings of that day (one entry: the current day)
_cache: dict[tuple, list] = {}


def use(name: str | None, store: Any = None) -> None:
    """Install the provider ``"module:function"`` (None: none) and the store it reads."""
    fn = None
    if name is not None:
        module, _, attr = name.partition(":")
        fn = getattr(importlib.import_module(module), attr)
    _provider.update(name=name, store=store, fn=fn)
    _cache.clear()


def first_rule(fleet: FleetIndex, kind: str) -> RuleBase | None:
    """The rule of a revenue kind (one per kind; a second one is not evaluated)."""
    return next((r for r in fleet.rules() if r.kind == kind), None)


def _settings(fleet: FleetIndex) -> dict[str, dict[str, Any]]:
    out = {}
    for kind in KINDS:
        r = first_rule(fleet, kind)
        if r is not None:
            out[kind] = r.model_dump()
    if "receivable_overdue" in out:
        r = first_rule(fleet, "receivable_overdue")
        out["receivable_overdue"] = {
            "stations": r.stations,
            "days": r.days_by_component(),
            "default_days": r.days,
        }
    return out


def findings(snap: Snapshot, fleet: FleetIndex, rule: RuleBase) -> list[Finding]:
    """The findings of ``rule``'s kind at this evaluation (from the day's provider call)."""
    fn = _provider["fn"]
    if fn is None or first_rule(fleet, rule.kind) is not rule:
        return []
    config = fleet.config
    as_of = local_date(snap.now_ms, config.site.tz)
    settings = _settings(fleet)
    key = (id(config), as_of, repr(sorted(settings.items())))
    if key not in _cache:
        _cache.clear()
        _cache[key] = list(fn(config, _provider["store"], as_of, settings))
    out = []
    for f in _cache[key]:
        if f.kind != rule.kind:
            continue
        gateway = fleet.station_gateway(f.station) if f.station in fleet.stations else None
        out.append(
            Finding(
                f.kind,
                f.subject,
                local_midnight_ms(f.since, config.site.tz),
                0.0,  # the threshold's time is in since: it fires when found
                dict(f.seen),
                f.station,
                f.village,
                None,
                gateway,
            )
        )
    return out
