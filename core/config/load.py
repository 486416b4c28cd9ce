"""load_config: read config.yaml, validate each section, then the references between them.

Every problem is gathered in one run (ProblemCollector) and raised together as
BadInput; nothing is repaired and no network I/O happens here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from core.config.alerts import Alerts
from core.config.allocation import Allocation
from core.config.collect import ProblemCollector, dedupe
from core.config.households_csv import load_households_csv
from core.config.model import Cooperative, Household, Mqtt, Site, Station, Storage, Village
from core.config.mqtt_identity import identity_problems
from core.config.notice import Notice
from core.config.om import Om, om_problems
from core.config.paths import PathOutside, confine, fix_for, path_values
from core.config.payments import Payments
from core.config.plans import Plans, plan_problems
from core.config.receivables import Receivables
from core.config.record import Config, default_config_path
from core.config.references import reference_problems
from core.config.tariffs import Tariff
from core.config.types import SECRET_KEYS
from core.config.web import Web
from core.config.yamlsrc import KeyPath, load_yaml
from core.problems import BadInput, Problem

#: the sections of config.yaml, in the order the docs describe them
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
    "web",
    "receivables",
    "om",
    "notice",
    "payments",
    "plans",
)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config file; raise BadInput with every problem found."""
    path = Path(path) if path is not None else default_config_path()
    src, problems = load_yaml(path)
    col = ProblemCollector(src)
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
    if alerts is not None and site is not None and "language" not in alerts.model_fields_set:
        # notifications speak the site's language unless alerts.language says otherwise
        alerts = alerts.model_copy(update={"language": site.language})
    receivables = col.model(Receivables, data.get("receivables"), ("receivables",))
    om = col.model(Om, data.get("om"), ("om",))
    web = col.model(Web, data.get("web"), ("web",))
    payments = col.model(Payments, data.get("payments"), ("payments",))
    notice = col.model(Notice, data.get("notice"), ("notice",))
    plans = col.model(Plans, data.get("plans"), ("plans",)) if "plans" in data else None
    villages = col.items(Village, "villages")
    cooperatives = col.items(Cooperative, "cooperatives")
    stations = col.items(Station, "stations")
    tariffs = col.items(Tariff, "tariffs")

    households, hh_problems = _households(data.get("households"), path, col)
    for kp, value in path_values(storage, mqtt, alerts, stations, web):
        try:
            confine(path.parent, value)
        except PathOutside as exc:
            col.add(kp, str(exc), fix_for(str(kp[-1]), path.parent))
    raw_tariffs = data.get("tariffs")
    tariffs_whole = not isinstance(raw_tariffs, list) or len(raw_tariffs) == len(tariffs)
    reference_problems(
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
    col.problems = dedupe(
        [p for p in col.problems if not (p.where in secret_paths and "Extra inputs" in p.message)]
    )
    col.problems += hh_problems
    known = {c.name for _, t in tariffs for c in t.components}
    for name in receivables.cycles if receivables and tariffs_whole else ():
        if name not in known:
            col.add(
                ("receivables", "cycles", name),
                "no tariff has a component of this name",
                f"use one of {', '.join(sorted(known))}",
            )
    if plans is not None:
        rule_posts = [
            (("allocation", "village", i, "posts", j), p.village)
            for i, r in enumerate(allocation.village if allocation else ())
            for j, p in enumerate(r.posts)
        ]
        for kp, message, fix in plan_problems(
            plans, [v.id for _, v in villages], [h.id for h, _ in households], rule_posts
        ):
            col.add(kp, message, fix)
    if om is not None:
        for kp, message, fix in om_problems(
            om, {s.id for _, s in stations}, {v.id for _, v in villages}
        ):
            col.add(kp, message, fix)
        try:
            confine(path.parent, om.db_path)
        except PathOutside as exc:
            col.add(("om", "db_path"), str(exc), fix_for("db_path", path.parent))
    if col.problems or None in (
        site,
        storage,
        mqtt,
        allocation,
        alerts,
        web,
        receivables,
        om,
        notice,
        payments,
    ):
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
        web=web,
        receivables=receivables,
        notice=notice,
        om=om,
        payments=payments,
        plans=plans,
    )


def _secret_literals(data: Any, key_path: KeyPath, out: ProblemCollector) -> None:
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


def _households(
    raw: Any, path: Path, col: ProblemCollector
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
