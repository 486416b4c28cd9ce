"""Load and validate config.yaml: every problem in one run, nothing repaired.

``load_config(path)`` returns a frozen Config or raises BadInput listing each
problem with its key path (and file:line), what is wrong and how to fix it.
No network I/O happens here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from core.config.alerts import Alerts
from core.config.allocation import Allocation, rule_overlaps
from core.config.households_csv import load_households_csv
from core.config.model import (
    Cooperative,
    Device,
    Household,
    ModbusRtuDevice,
    ModbusTcpDevice,
    Mqtt,
    MqttDevice,
    Site,
    Station,
    Storage,
    Village,
)
from core.config.mqtt_identity import identity_problems
from core.config.paths import PathOutside, confine, fix_for, path_values
from core.config.tariffs import Tariff, timeline_problems
from core.config.types import SECRET_KEYS
from core.config.yamlsrc import KeyPath, YamlSource, load_yaml, render_path
from core.problems import BadInput, Problem

__all__ = ["Config", "default_config_path", "load_config"]

M = TypeVar("M", bound=BaseModel)

TOP_KEYS = (
    "site",
    "storage",
    "mqtt",
    "villages",
    "households",
    "cooperatives",
    "stations",
    "tariffs",
    "allocation",
    "alerts",
)

_FIX_BY_TYPE = {
    "missing": "add this key",
    "extra_forbidden": "remove it or check its spelling against docs/configuration.md",
    "literal_error": "use one of the values listed",
    "union_tag_invalid": "use one of the values listed",
    "union_tag_not_found": "add the key that selects the kind",
    "int_parsing": "write a whole number",
    "float_parsing": "write a number",
    "greater_than": "use a larger value",
    "greater_than_equal": "use a larger value",
    "less_than_equal": "use a smaller value",
    "too_short": "add at least one entry",
    "date_from_datetime_parsing": "write the date as YYYY-MM-DD",
    "date_parsing": "write the date as YYYY-MM-DD",
}


@dataclass(frozen=True)
class Config:
    """The validated configuration and its fleet registry."""

    path: Path
    site: Site
    storage: Storage
    mqtt: Mqtt
    villages: tuple[Village, ...]
    households: tuple[Household, ...]
    cooperatives: tuple[Cooperative, ...]
    stations: tuple[Station, ...]
    tariffs: tuple[Tariff, ...]
    allocation: Allocation
    alerts: Alerts
    _idx: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def base_dir(self) -> Path:
        """Folder of config.yaml; relative paths in the config start here."""
        return self.path.parent

    def resolve(self, value: str) -> Path:
        """A path from the config (or a command line), made absolute against base_dir;
        BadInput when a relative one leads outside base_dir."""
        try:
            return confine(self.base_dir, value)
        except PathOutside as exc:
            raise BadInput(
                [Problem("(path)", str(exc), fix_for("it", self.base_dir), file=self.path.name)],
                what=str(self.path),
            ) from None

    @cached_property
    def village_by_id(self) -> dict[str, Village]:
        """Villages indexed by id."""
        return {v.id: v for v in self.villages}

    @cached_property
    def household_by_id(self) -> dict[str, Household]:
        """Households indexed by id."""
        return {h.id: h for h in self.households}

    @cached_property
    def cooperative_by_id(self) -> dict[str, Cooperative]:
        """Cooperatives indexed by id."""
        return {c.id: c for c in self.cooperatives}

    @cached_property
    def station_by_id(self) -> dict[str, Station]:
        """Stations indexed by id."""
        return {s.id: s for s in self.stations}

    @cached_property
    def device_index(self) -> dict[str, tuple[Station, Device]]:
        """Every device id -> (its station, the device)."""
        return {d.id: (s, d) for s in self.stations for d in s.devices}

    def devices(self, *sources: str) -> Iterator[tuple[Station, Device]]:
        """(station, device) pairs, optionally only of the given sources."""
        for s in self.stations:
            for d in s.devices:
                if not sources or d.source in sources:
                    yield s, d


def default_config_path() -> Path:
    """$PVLEDGER_CONFIG, else ./config.yaml."""
    return Path(os.environ.get("PVLEDGER_CONFIG") or "config.yaml")


class _Collector:
    """Gathers problems with key paths and line numbers from one YAML source."""

    def __init__(self, src: YamlSource):
        self.src = src
        self.problems: list[Problem] = []

    def add(self, key_path: KeyPath, message: str, fix: str = "") -> None:
        self.problems.append(
            Problem(
                render_path(key_path),
                message,
                fix,
                file=self.src.path.name,
                line=self.src.line_of(key_path),
            )
        )

    def model(self, cls: type[M], data: Any, key_path: KeyPath) -> M | None:
        """Validate one section/item; record its errors and return None on failure."""
        try:
            return cls.model_validate(data if data is not None else {})
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "literal_error":
                    msg = f"{msg} (got {err.get('input')!r})"
                self.add((*key_path, *loc), msg, _FIX_BY_TYPE.get(err["type"], ""))
            return None

    def items(self, cls: type[M], key: str) -> list[tuple[int, M]]:
        """Validate each item of a top-level list on its own, so one bad item hides nothing."""
        raw = self.src.data.get(key) if isinstance(self.src.data, dict) else None
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.add(
                (key,),
                f"must be a list, got {type(raw).__name__}",
                f"write {key}: followed by '- ' items",
            )
            return []
        out = []
        for i, item in enumerate(raw):
            m = self.model(cls, item, (key, i))
            if m is not None:
                out.append((i, m))
        return out


def _is_union_tag(part: Any) -> bool:
    # pydantic names the member of a union in the error location; users never wrote it
    return isinstance(part, str) and (
        part in ("modbus-tcp", "modbus-rtu", "mqtt", "webhook", "email") or "[" in part
    )


def _secret_literals(data: Any, key_path: KeyPath, out: _Collector) -> None:
    """Refuse a literal password/token anywhere: secrets come only through *_env names."""
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(k, str) and k.lower() in SECRET_KEYS:
                env = "_".join(str(p).upper() for p in (*key_path, k) if isinstance(p, str))
                out.add(
                    (*key_path, k),
                    "secrets are never written in the config file",
                    f"set an environment variable and write {k}_env: PVLEDGER_{env}",
                )
            else:
                _secret_literals(v, (*key_path, k), out)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _secret_literals(v, (*key_path, i), out)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config file; raise BadInput with every problem found."""
    path = Path(path) if path is not None else default_config_path()
    src, problems = load_yaml(path)
    col = _Collector(src)
    col.problems.extend(problems)
    data = src.data
    if not isinstance(data, dict):
        col.add(
            (),
            "the file must be a mapping of sections (site:, stations:, ...)",
            "start from the shipped config.yaml",
        )
        raise BadInput(col.problems, what=str(path))

    for key in data:
        if key not in TOP_KEYS:
            col.add((key,), "unknown section", f"use only {', '.join(TOP_KEYS)}")
    before = len(col.problems)
    _secret_literals(data, (), col)
    # the secret check already explains these keys; drop pydantic's "extra" duplicates
    secret_paths = {p.where for p in col.problems[before:]}

    site = col.model(Site, data.get("site"), ("site",))
    storage = col.model(Storage, data.get("storage"), ("storage",))
    mqtt = col.model(Mqtt, data.get("mqtt"), ("mqtt",))
    allocation = col.model(Allocation, data.get("allocation"), ("allocation",))
    alerts = col.model(Alerts, data.get("alerts"), ("alerts",))
    villages = col.items(Village, "villages")
    cooperatives = col.items(Cooperative, "cooperatives")
    stations = col.items(Station, "stations")
    tariffs = col.items(Tariff, "tariffs")

    households, hh_problems = _households(data.get("households"), path, col)
    for kp, value in path_values(storage, mqtt, alerts, stations):
        try:
            confine(path.parent, value)
        except PathOutside as exc:
            col.add(kp, str(exc), fix_for(str(kp[-1]), path.parent))
    raw_tariffs = data.get("tariffs")
    tariffs_whole = not isinstance(raw_tariffs, list) or len(raw_tariffs) == len(tariffs)
    _references(
        col,
        villages,
        households,
        cooperatives,
        stations,
        tariffs,
        allocation,
        alerts,
        tariffs_whole,
    )
    reserved = (
        {mqtt.username: "the collector's own (mqtt.username)"} if mqtt and mqtt.username else {}
    )
    for kp, message, fix in identity_problems(stations, reserved):
        col.add(kp, message, fix)
    col.problems = _dedupe(
        [p for p in col.problems if not (p.where in secret_paths and "Extra inputs" in p.message)]
    )
    col.problems += hh_problems
    if col.problems or None in (site, storage, mqtt, allocation, alerts):
        raise BadInput(col.problems, what=str(path))
    return Config(
        path=path.resolve(),
        site=site,
        storage=storage,
        mqtt=mqtt,
        villages=tuple(v for _, v in villages),
        households=tuple(h for h, _ in households),
        cooperatives=tuple(c for _, c in cooperatives),
        stations=tuple(s for _, s in stations),
        tariffs=tuple(t for _, t in tariffs),
        allocation=allocation,
        alerts=alerts,
    )


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.where, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _households(
    raw: Any, path: Path, col: _Collector
) -> tuple[list[tuple[Household, Any]], list[Problem]]:
    """Households inline (a list) or from a CSV file named in the config."""
    if raw is None:
        return [], []
    if isinstance(raw, str):
        try:
            csv_path = confine(path.parent, raw)
        except PathOutside as exc:
            col.add(("households",), str(exc), fix_for("households", path.parent))
            return [], []
        rows, problems = load_households_csv(csv_path)
        return [(h, ("csv", str(csv_path), line)) for h, line in rows], problems
    if isinstance(raw, list):
        return [(h, ("households", i)) for i, h in col.items(Household, "households")], []
    col.add(
        ("households",),
        "must be a list of households or the path of a CSV file",
        "write households: registry/households.csv",
    )
    return [], []


def _where(col: _Collector, origin: Any) -> Callable[[str, str], None]:
    """A reporter for a household's origin (YAML item or CSV line)."""

    def report(message: str, fix: str) -> None:
        if origin[0] == "csv":
            col.problems.append(Problem("households", message, fix, file=origin[1], line=origin[2]))
        else:
            col.add(origin, message, fix)

    return report


def _references(
    col: _Collector,
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
    hh_ids: dict[str, Any] = {}
    for h, origin in households:
        report = _where(col, origin)
        if h.id in hh_ids:
            report(f"household id {h.id!r} appears twice", "give every household its own id")
        hh_ids[h.id] = origin
        if h.village not in village_ids:
            report(
                f"village {h.village!r} of household {h.id!r} is not in villages:",
                "add the village or correct the id",
            )
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

    _unique(col, "stations", stations, lambda s: s.id, "station id")
    owners = {
        "household": (hh_ids, "households"),
        "cooperative": (coop_ids, "cooperatives"),
        "village": (village_ids, "villages"),
    }
    device_seen: dict[str, KeyPath] = {}
    address_seen: dict[tuple[Any, ...], tuple[KeyPath, str]] = {}
    topic_seen: dict[str, str] = {}
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
            addr = _address(d)
            if addr is not None:
                if addr in address_seen:
                    prev_kp, prev_id = address_seen[addr]
                    col.add(
                        kp,
                        f"device {d.id!r} has the same address {_show_addr(addr)} as "
                        f"{prev_id!r} ({render_path(prev_kp)})",
                        "each unit id on one endpoint belongs to one device; fix unit or port",
                    )
                else:
                    address_seen[addr] = (kp, d.id)
            if isinstance(d, MqttDevice):
                if d.topic in topic_seen:
                    col.add(
                        (*kp, "topic"),
                        f"topic {d.topic!r} already used by {topic_seen[d.topic]!r}",
                        "give each logger its own topic",
                    )
                topic_seen.setdefault(d.topic, d.id)

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


def _known(col: _Collector, kp: KeyPath, ident: str, known: Any, what: str, where: str) -> None:
    """Report ident when it is not among the known ids of its kind."""
    if ident not in known:
        col.add(kp, f"unknown {what} {ident!r}", f"use an id from {where}")


def _allocation_refs(
    col: _Collector, allocation: Allocation, hh_ids: Any, coop_ids: Any, village_ids: Any
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
    col: _Collector, key: str, items: list[tuple[int, Any]], get: Callable[[Any], str], label: str
) -> set[str]:
    seen: set[str] = set()
    for i, item in items:
        ident = get(item)
        if ident in seen:
            col.add((key, i, "id"), f"{label} {ident!r} appears twice", "ids must be unique")
        seen.add(ident)
    return seen


def _address(d: Device) -> tuple[Any, ...] | None:
    if isinstance(d, ModbusTcpDevice):
        return ("tcp", d.host, d.port, d.unit)
    if isinstance(d, ModbusRtuDevice):
        return ("rtu", d.port, d.unit)
    return None


def _show_addr(addr: tuple[Any, ...]) -> str:
    if addr[0] == "tcp":
        return f"{addr[1]}:{addr[2]} unit {addr[3]}"
    return f"{addr[1]} unit {addr[2]}"
