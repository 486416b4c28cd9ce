"""Who may do what: a table of role -> actions, and the village scope of every query.

Every page checks its action with @requires("area.action") and fetches stations,
villages, runs and lines only through villages_visible() / the *_or_404 helpers, so a
village user gets 404 for anything outside its villages, by link or by guessed URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import Http404

from web import runtime

#: what each action lets a user see or do; pages name these, never roles
VIEW = ("fleet.view", "station.view", "alerts.view", "runs.view", "imports.view")
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({*VIEW, "users.manage", "audit.view", "ledger.verify", "alerts.act"}),
    "finance": frozenset(
        {*VIEW, "runs.compute", "runs.finalize", "runs.supersede", "imports.upload", "notice.view"}
    ),
    "om": frozenset({"fleet.view", "station.view", "alerts.view", "alerts.act"}),
    # alerts.view: the alerts of its own villages only (web/pages/alerts.py scopes them)
    "village": frozenset({"fleet.view", "station.view", "alerts.view", "runs.view", "notice.view"}),
    "auditor": frozenset({*VIEW, "notice.view", "audit.view", "ledger.verify"}),
}
#: the money pages of issues 16/17 (web/pages/receivables, receipts, payments, statements)
MONEY: dict[str, frozenset[str]] = {
    "admin": frozenset({"receivables.view", "payments.view", "statements.view"}),
    "finance": frozenset(
        {"receivables.view", "receipts.import", "payments.view", "payments.act", "statements.view"}
    ),
    "village": frozenset({"receivables.view", "statements.view"}),
    "auditor": frozenset({"receivables.view", "payments.view", "statements.view"}),
}
#: the work order, caretaker log and appraisal pages of issue 18 (web/pages/workorders,
#: caretaker, appraisal); a village user reads only its villages' orders and log
OM_PAGES: dict[str, frozenset[str]] = {
    "admin": frozenset({"workorders.view", "workorders.act", "appraisal.view"}),
    "om": frozenset({"workorders.view", "workorders.act", "appraisal.view"}),
    "village": frozenset({"workorders.view"}),
    "auditor": frozenset({"workorders.view", "appraisal.view"}),
}
#: the village distribution plans page (issue 17 item 1; web/pages/plans.py): read-only,
#: a village user sees only its villages' plans
PLANS: dict[str, frozenset[str]] = {
    r: frozenset({"plans.view"}) for r in ("admin", "finance", "village", "auditor")
}
ROLE_ACTIONS = {
    role: acts
    | MONEY.get(role, frozenset())
    | OM_PAGES.get(role, frozenset())
    | PLANS.get(role, frozenset())
    for role, acts in ROLE_ACTIONS.items()
}
#: roles that see only the villages named on the user
SCOPED_ROLES = frozenset({"village"})

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def can(user: Any, action: str) -> bool:
    """May this (logged-in, active) user do action?"""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return action in ROLE_ACTIONS.get(user.role, frozenset())


def requires(action: str) -> Callable[[F], F]:
    """View decorator: 403 unless the user's role allows action."""

    def wrap(view: F) -> F:
        @wraps(view)
        def checked(request: Any, *args: Any, **kwargs: Any) -> Any:
            if not can(request.user, action):
                raise PermissionDenied(action)
            return view(request, *args, **kwargs)

        return checked  # type: ignore[return-value]

    return wrap


def villages_visible(user: Any) -> frozenset[str]:
    """Ids of the config's villages this user may see (all of them unless scoped)."""
    known = runtime.config().village_by_id
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    if user.role in SCOPED_ROLES:
        return frozenset(v for v in user.villages if v in known)
    return frozenset(known)


def visible(user: Any, items: Iterable[T], village_of: Callable[[T], str]) -> list[T]:
    """The items whose village (village_of(item)) the user may see."""
    allowed = villages_visible(user)
    return [i for i in items if village_of(i) in allowed]


def village_or_404(user: Any, village_id: str) -> Any:
    """The config Village, or 404 when unknown or outside the user's villages."""
    if village_id not in villages_visible(user):
        raise Http404("no such village")
    return runtime.config().village_by_id[village_id]


def station_or_404(user: Any, station_id: str) -> Any:
    """The config Station, or 404 when unknown or outside the user's villages."""
    station = runtime.config().station_by_id.get(station_id)
    if station is None or station.village not in villages_visible(user):
        raise Http404("no such station")
    return station


def require_village(user: Any, village_id: str) -> None:
    """404 unless the user may see village_id (for objects that carry a village id)."""
    if village_id not in villages_visible(user):
        raise Http404("not found")
