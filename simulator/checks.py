"""Config check for simulated devices, run by `pvledger check` (pvledger/checks.py).

A device's ``simulate:`` profile must exist, and a Modbus device must be served with
the map it is read with: the simulator encodes its registers from the profile's map,
so a profile of another map would serve registers the collector decodes as nonsense.
"""

from __future__ import annotations

from pathlib import Path

from core.config import Config
from core.config.yamlsrc import load_yaml, render_path
from core.problems import BadInput, Problem
from simulator.fleet import profiles


def simulate_problems(config: Config) -> list[Problem]:
    """Every simulated device whose profile is unknown or serves another map."""
    prof = profiles()
    found = []
    for i, s in enumerate(config.stations):
        for j, d in enumerate(s.devices):
            if not d.simulate:
                continue
            kp = ("stations", i, "devices", j, "simulate")
            p = prof.get(d.simulate)
            dev_map = getattr(d, "map", None)
            if p is None:
                found.append((kp, f"unknown simulator profile {d.simulate!r}",
                              f"use one of {', '.join(sorted(prof))}"))  # fmt: skip
            elif dev_map is not None and p.get("map") != dev_map:
                fits = sorted(n for n, q in prof.items() if q.get("map") == dev_map)
                found.append(
                    (
                        kp,
                        f"profile {d.simulate!r} serves map {p.get('map')!r}, "
                        f"but the device is read with map {dev_map!r}",
                        f"use a profile of map {dev_map}: {', '.join(fits) or 'none yet'}",
                    )
                )
    if not found:
        return []
    try:
        line_of = load_yaml(Path(config.path))[0].line_of
    except (BadInput, OSError):
        line_of = lambda kp: None  # noqa: E731
    name = Path(config.path).name
    return [Problem(render_path(kp), m, f, file=name, line=line_of(kp)) for kp, m, f in found]
