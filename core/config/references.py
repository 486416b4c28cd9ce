"""Cross-reference checks: every id named exists once, every address and topic has one device.

Run over the items that validated on their own, so one bad item hides no other
problem; what a device must not share is asked of its model (DeviceBase.address
and claims), so no protocol is named here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.config.alerts import Alerts
from core.config.allocation import Allocation, rule_overlaps
from core.config.collect import ProblemCollector
from core.config.model import Cooperative, Household, Station, Village
from core.config.tariffs import Tariff, timeline_problems
from core.config.yamlsrc import KeyPath, render_path
from core.problems import Problem


def reporter(col: ProblemCollector, origin: Any) -> Callable[[str, str], None]:
    """A reporter for a household's origin (YAML item or CSV line)."""

    def report(message: str, fix: str) -> None:
        if origin[0] == "csv":
            col.problems.append(Problem("households", message, fix, file=origin[1], line=origin[2]))
        else:
            col.add(origin, message, fix)

    return report


def reference_problems(
    col: ProblemCollector,
    villages: list[tuple[int, Village]],
    households: list[tuple[Household, Any]],
    cooperatives: list[tuple[int, Cooperative]],
    stations: list[tuple[int, Station]],
    tariffs: list[tuple[int, Tariff]],
    allocation: Allocation | None,
    alerts: Alerts | None,
    tariffs_whole: bool,
) -> None:
    """Cross-reference checks over the items that validated on their own."""
    village_ids = _unique(col, "villages", villages, lambda v: v.id, "village id")
    hh_ids = _households(col, households, village_ids)
    coop_ids = _cooperatives(col, cooperatives, hh_ids, village_ids)
    _unique(col, "stations", stations, lambda s: s.id, "station id")
    _stations(col, stations, hh_ids, coop_ids, village_ids)
    _tariffs(col, stations, tariffs, tariffs_whole)
    if allocation is not None:
        for kp, msg in rule_overlaps(allocation):
            col.add(kp, msg, "end the older rule (until:) where the newer one begins")
    kinds = {s.kind for _, s in stations}
    covered = {t.applies_to.kind for _, t in tariffs}
    # a tariff that failed on its own may be the one that covers a kind: say nothing then
    for k in sorted(kinds - covered) if tariffs_whole else ():
        col.add(
            ("tariffs",),
            f"no tariff applies to {k} stations",
            f"add a tariff with applies_to: {{kind: {k}}}",
        )
    if allocation is not None:
        _allocation_refs(col, allocation, hh_ids, coop_ids, village_ids)
    if alerts is not None:
        station_ids = {s.id for _, s in stations}
        for i, r in enumerate(alerts.rules):
            for sid in r.stations or ():
                if sid not in station_ids:
                    col.add(
                        ("alerts", "rules", i, "stations"),
                        f"unknown station {sid!r}",
                        "use an id from stations:",
                    )
        for i, c in enumerate(alerts.contacts):
            for vid in c.villages or ():
                _known(
                    col,
                    ("alerts", "contacts", i, "villages"),
                    vid,
                    village_ids,
                    "village",
                    "villages:",
                )


def _households(
    col: ProblemCollector, households: list[tuple[Household, Any]], village_ids: set[str]
) -> dict[str, Any]:
    """Household ids -> origin; each id once, each in a known village."""
    hh_ids: dict[str, Any] = {}
    for h, origin in households:
        report = reporter(col, origin)
        if h.id in hh_ids:
            report(f"household id {h.id!r} appears twice", "give every household its own id")
        hh_ids[h.id] = origin
        if h.village not in village_ids:
            report(
                f"village {h.village!r} of household {h.id!r} is not in villages:",
                "add the village or correct the id",
            )
    return hh_ids


def _cooperatives(
    col: ProblemCollector,
    cooperatives: list[tuple[int, Cooperative]],
    hh_ids: dict[str, Any],
    village_ids: set[str],
) -> set[str]:
    """Cooperative ids; each in a known village, each member a household listed once."""
    coop_ids = _unique(col, "cooperatives", cooperatives, lambda c: c.id, "cooperative id")
    # a cooperative refused for one bad member still has its other members checked
    raw_coops = col.src.data.get("cooperatives") if isinstance(col.src.data, dict) else None
    valid_idx = {i for i, _ in cooperatives}
    for i, raw in enumerate(raw_coops if isinstance(raw_coops, list) else []):
        members = raw.get("members") if isinstance(raw, dict) else None
        if i in valid_idx or not isinstance(members, list):
            continue
        if isinstance(raw.get("id"), str):
            coop_ids.add(raw["id"])
        for j, m in enumerate(members):
            hh = m.get("household") if isinstance(m, dict) else None
            if isinstance(hh, str) and hh not in hh_ids:
                col.add(
                    ("cooperatives", i, "members", j, "household"),
                    f"member {hh!r} is not a registered household",
                    "add the household to the registry or correct the id",
                )
    for i, c in cooperatives:
        if c.village not in village_ids:
            col.add(
                ("cooperatives", i, "village"),
                f"unknown village {c.village!r}",
                "use an id from villages:",
            )
        seen: set[str] = set()
        for j, m in enumerate(c.members):
            if m.household not in hh_ids:
                col.add(
                    ("cooperatives", i, "members", j, "household"),
                    f"member {m.household!r} is not a registered household",
                    "add the household to the registry or correct the id",
                )
            if m.household in seen:
                col.add(
                    ("cooperatives", i, "members", j, "household"),
                    f"{m.household!r} is listed twice in {c.id}",
                    "merge into one line",
                )
            seen.add(m.household)
    return coop_ids


def _stations(
    col: ProblemCollector,
    stations: list[tuple[int, Station]],
    hh_ids: Any,
    coop_ids: set[str],
    village_ids: set[str],
) -> None:
    """Each station's owner and village exist; each device id, address and claim is one device's."""
    owners = {
        "household": (hh_ids, "households"),
        "cooperative": (coop_ids, "cooperatives"),
        "village": (village_ids, "villages"),
    }
    device_seen: dict[str, KeyPath] = {}
    address_seen: dict[tuple[object, ...], tuple[KeyPath, str]] = {}
    claimed: dict[tuple[str, str], str] = {}
    for i, s in stations:
        ids, where = owners[s.kind]
        if s.owner not in ids:
            other = [k for k, (o, _) in owners.items() if s.owner in o and k != s.kind]
            hint = (
                f"{s.owner!r} is a {other[0]}, but this station's kind is {s.kind}"
                if other
                else f"{s.owner!r} is not in {where}"
            )
            col.add(
                ("stations", i, "owner"),
                f"owner of {s.kind} station {s.id!r} not found: {hint}",
                f"use an id from {where}: or change kind",
            )
        if s.village not in village_ids:
            col.add(
                ("stations", i, "village"),
                f"unknown village {s.village!r}",
                "use an id from villages:",
            )
        for j, d in enumerate(s.devices):
            kp = ("stations", i, "devices", j)
            if d.id in device_seen:
                col.add(
                    (*kp, "id"),
                    f"device id {d.id!r} already used at {render_path(device_seen[d.id])}",
                    "give every device its own id",
                )
            device_seen.setdefault(d.id, (*kp, "id"))
            address = d.address()
            if address is not None:
                key, shown = address
                if key in address_seen:
                    prev_kp, prev_id = address_seen[key]
                    col.add(
                        kp,
                        f"device {d.id!r} has the same address {shown} as "
                        f"{prev_id!r} ({render_path(prev_kp)})",
                        "each unit id on one endpoint belongs to one device; fix unit or port",
                    )
                else:
                    address_seen[key] = (kp, d.id)
            for name, value, fix in d.claims():
                if (name, value) in claimed:
                    col.add(
                        (*kp, name),
                        f"{name} {value!r} already used by {claimed[name, value]!r}",
                        fix,
                    )
                claimed.setdefault((name, value), d.id)


def _tariffs(
    col: ProblemCollector,
    stations: list[tuple[int, Station]],
    tariffs: list[tuple[int, Tariff]],
    tariffs_whole: bool,
) -> None:
    """Tariffs follow one another without gap or overlap; each station's class has one."""
    for j, msg in timeline_problems(tariffs):
        col.add(("tariffs", j, "from"), msg, "make each tariff end (until:) where the next begins")
    classes = {(t.applies_to.kind, t.applies_to.tariff_class) for _, t in tariffs}
    for i, s in stations if tariffs_whole else ():
        if s.tariff_class is not None and (s.kind, s.tariff_class) not in classes:
            col.add(
                ("stations", i, "tariff_class"),
                f"no {s.kind} tariff has tariff_class {s.tariff_class!r}",
                "add a tariff with that applies_to.tariff_class or remove tariff_class",
            )


def _known(
    col: ProblemCollector, kp: KeyPath, ident: str, known: Any, what: str, where: str
) -> None:
    """Report ident when it is not among the known ids of its kind."""
    if ident not in known:
        col.add(kp, f"unknown {what} {ident!r}", f"use an id from {where}")


def _allocation_refs(
    col: ProblemCollector, allocation: Allocation, hh_ids: Any, coop_ids: Any, village_ids: Any
) -> None:
    """Every household, cooperative and village named by an allocation rule exists."""
    base = ("allocation",)
    for i, hr in enumerate(allocation.household):
        for j, w in enumerate(hr.withholdings):
            _known(
                col,
                (*base, "household", i, "withholdings", j, "household"),
                w.household,
                hh_ids,
                "household",
                "households",
            )
    for i, cr in enumerate(allocation.cooperative):
        for c in cr.cooperatives or ():
            _known(
                col,
                (*base, "cooperative", i, "cooperatives"),
                c,
                coop_ids,
                "cooperative",
                "cooperatives:",
            )
    for i, vr in enumerate(allocation.village):
        kp = (*base, "village", i)
        for v in vr.villages or ():
            _known(col, (*kp, "villages"), v, village_ids, "village", "villages:")
        for j, p in enumerate(vr.posts):
            _known(
                col, (*kp, "posts", j, "village"), p.village, village_ids, "village", "villages:"
            )
        for h in vr.legacy_beneficiary_share.households if vr.legacy_beneficiary_share else ():
            _known(col, (*kp, "legacy_beneficiary_share"), h, hh_ids, "household", "households")


def _unique(
    col: ProblemCollector,
    key: str,
    items: list[tuple[int, Any]],
    get: Callable[[Any], str],
    label: str,
) -> set[str]:
    """The ids of items, each repeated one reported at its id key."""
    seen: set[str] = set()
    for i, item in items:
        ident = get(item)
        if ident in seen:
            col.add((key, i, "id"), f"{label} {ident!r} appears twice", "ids must be unique")
        seen.add(ident)
    return seen
