"""The registry of alert kinds: every module in this folder is one kind.

A kind module ``alerts/kinds/<kind>.py`` holds:

- ``Rule``: its rule model, a core.config.alerts.RuleBase subclass with
  ``kind: Literal["<kind>"]`` and its thresholds as fields with defaults (config.yaml
  ``alerts.rules`` is the discriminated union of these models);
- ``evaluate(snap, fleet, rule) -> list[Finding]``: its findings at one evaluation,
  for the stations the rule applies to (``fleet.applies(rule, station)``); a finding
  with ``suppressed=True`` is a hold (keeps an open alert alive, opens none);
- ``NAMES``: its name in each language (``{"zh": ..., "en": ...}``) and
  ``observed(alert, lang, now_ms, config) -> str``: one sentence on what was seen;
- traits, each optional (defaults in ``Kind``): ``SUPPRESSED_BY`` (suppressing kind ->
  the finding's attribute that names the suppressor's subject: under it the finding is
  held), ``COUNTY_ONLY`` (evaluated only by `alerts watch` on the county server),
  ``LOSS`` (how income lost is estimated, alerts/loss.py; None = no loss claimed),
  ``lookback_s(rule)`` (recent readings it needs [s]) and ``history_days(rule)`` (local
  days of the daily roll-up it needs).

A new kind is one new module here (plus its test): nothing else lists the kinds.
Importing the kinds loads only core and the small pure modules of alerts (no numpy, no
store), because ``pvledger check`` imports them to validate ``alerts.rules``.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, get_args

from core.config.alerts import RuleBase

LANGUAGES = ("zh", "en")
#: the estimates alerts/loss.py knows
LOSSES = (None, "stop", "village", "shortfall")


def _no_lookback(rule: Any) -> float:
    return 0.0


def _no_history(rule: Any) -> int:
    return 0


@dataclass(frozen=True)
class Kind:
    """One alert kind as the engine, the messages and the config see it."""

    name: str
    rule_model: type[RuleBase]
    evaluate: Callable[..., list[Any]]
    observed: Callable[..., str]
    names: Mapping[str, str]
    suppressed_by: Mapping[str, str] = field(default_factory=dict)
    county_only: bool = False
    loss: str | None = None
    lookback_s: Callable[[Any], float] = _no_lookback
    history_days: Callable[[Any], int] = _no_history


def _kind_of(module: ModuleType, name: str) -> Kind:
    """The Kind a module declares; TypeError naming what it lacks."""
    missing = [a for a in ("Rule", "evaluate", "observed", "NAMES") if not hasattr(module, a)]
    if missing:
        raise TypeError(f"alert kind module {module.__name__} lacks {', '.join(missing)}")
    rule = module.Rule
    if not (isinstance(rule, type) and issubclass(rule, RuleBase)):
        raise TypeError(f"{module.__name__}.Rule is not a RuleBase subclass")
    if get_args(rule.model_fields["kind"].annotation) != (name,):
        raise TypeError(f"{module.__name__}.Rule.kind must be Literal[{name!r}]")
    if set(module.NAMES) != set(LANGUAGES):
        raise TypeError(f"{module.__name__}.NAMES must name the kind in {LANGUAGES}")
    loss = getattr(module, "LOSS", None)
    if loss not in LOSSES:
        raise TypeError(f"{module.__name__}.LOSS must be one of {LOSSES}")
    return Kind(
        name,
        rule,
        module.evaluate,
        module.observed,
        dict(module.NAMES),
        dict(getattr(module, "SUPPRESSED_BY", {})),
        bool(getattr(module, "COUNTY_ONLY", False)),
        loss,
        getattr(module, "lookback_s", _no_lookback),
        getattr(module, "history_days", _no_history),
    )


@functools.cache
def kinds() -> Mapping[str, Kind]:
    """Every kind in this folder by name, in name order."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return {n: _kind_of(importlib.import_module(f"{__name__}.{n}"), n) for n in names}


def rule_models() -> dict[str, type[RuleBase]]:
    """kind -> its rule model (core.config.alerts.RULE_MODELS names this function)."""
    return {n: k.rule_model for n, k in kinds().items()}


def kind_name(kind: str, lang: str) -> str:
    """A kind's name in a language (the kind itself when it is unknown)."""
    k = kinds().get(kind)
    return k.names[lang] if k is not None else kind
