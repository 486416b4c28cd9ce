"""A small fleet for alert tests: two villages of three 3 kW households, readings built
from the clear-sky model times a chosen share (weather), written to a real SQLite store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from core import solar
from core.config import Config, load_config
from core.reading import Quality, Reading
from core.store import SqliteStore

TZ = ZoneInfo("Asia/Shanghai")
LAT, LON = 27.11, 114.98
VILLAGES = {"va": ["s-a1", "s-a2", "s-a3"], "vb": ["s-b1", "s-b2", "s-b3"]}


def local_ms(day: str, hhmm: str) -> int:
    """Site-local 'YYYY-MM-DD', 'HH:MM' as UTC ms."""
    t = dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=TZ)
    return int(t.timestamp() * 1000)


def write_config(
    tmp: Path,
    *,
    notify: str = "",
    rules: str | None = None,
    language: str = "en",
    gateways: bool = False,
    extra_alerts: str = "",
) -> Config:
    """Write config.yaml for the test fleet (alerts: given rules/notifiers) and load it."""
    lines = [
        f"site: {{name: test, timezone: Asia/Shanghai, latitude: {LAT}, longitude: {LON}, "
        "gateway: gw-1}",
        "storage: {backend: sqlite, path: data/pv.db}",
        "villages:",
    ]
    for v in VILLAGES:
        gw = f", gateway: gw-{v}" if gateways else ""
        lines.append(f"  - {{id: {v}, name: Village {v.upper()}{gw}}}")
    lines.append("households:")
    for sids in VILLAGES.values():
        for sid in sids:
            v = next(k for k, s in VILLAGES.items() if sid in s)
            lines.append(f"  - {{id: hh-{sid[2:]}, name: Owner {sid[2:]}, village: {v}}}")
    lines.append("stations:")
    for v, sids in VILLAGES.items():
        for sid in sids:
            lines.append(
                f"  - {{id: {sid}, kind: household, capacity_kw: 3, owner: hh-{sid[2:]}, "
                f"village: {v}, devices: [{{id: {sid}-log, source: mqtt, topic: pv/{v}/{sid}, "
                "interval_s: 60}]}"
            )
    lines += [
        "tariffs:",
        "  - id: hh-2018",
        "    applies_to: {kind: household}",
        "    shape: benchmark-total",
        "    from: 2018-01-01",
        '    total_yuan_per_kwh: "0.85"',
        "    components:",
        '      - {name: coal, yuan_per_kwh: "0.4143", payer: grid}',
        "      - {name: subsidy, yuan_per_kwh: remainder, payer: renewable_fund, subsidy: true}",
        "alerts:",
        f"  language: {language}",
        "  db_path: data/alerts.db",
        "  renotify_s: 7200",
    ]
    lines.append(
        "  rules:\n"
        + (
            rules
            or "    - {kind: comm_lost, for_s: 1800, window_margin_s: 1800}\n"
            '    - {kind: no_output, for_s: 3600, peer_min_share: "20"}\n'
            '    - {kind: low_performance, peer_median_share: "60", days: 3}\n'
            "    - {kind: device_fault, for_s: 0}\n"
            "    - {kind: counter_anomaly, for_s: 0}\n"
            '    - {kind: village_outage, for_s: 900, zero_power_share: "0.2"}\n'
            "    - {kind: gateway_silent, for_s: 1800, window_margin_s: 1800}"
        ).rstrip("\n")
    )
    if notify:
        lines.append("  notify:\n" + notify.rstrip("\n"))
    if extra_alerts:
        lines.append(extra_alerts.rstrip("\n"))
    path = tmp / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(path)


#: share of clear-sky output per (station, ts_ms); None = no reading at all (silent)
Share = Callable[[str, int], float | None]


def readings(
    config: Config,
    start_ms: int,
    end_ms: int,
    share: Share,
    *,
    step_s: int = 60,
    status: Callable[[str, int], int] | None = None,
    fault_code: Callable[[str, int], int] | None = None,
) -> Iterable[Reading]:
    """Readings every step_s from start to end for every station (integrated counters)."""
    ts = np.arange(start_ms, end_ms, step_s * 1000, dtype=np.int64)
    exp = np.asarray(solar.expected_power_w(3.0, ts, LAT, LON), dtype=float)
    for st in config.stations:
        energy = 1_000_000.0
        dev = st.devices[0]
        gw = next((v.gateway for v in config.villages if v.id == st.village), None) or "gw-1"
        for t, e in zip(ts.tolist(), exp.tolist(), strict=True):
            s = share(st.id, t)
            p = 0.0 if s is None else round(e * s, 1)
            energy += p * step_s / 3600
            if s is None:
                continue
            yield Reading(
                st.id,
                dev.id,
                t,
                {
                    "power_w": p,
                    "energy_total_wh": int(energy),
                    "status": status(st.id, t) if status else (1 if p > 0 else 0),
                    "fault_code": fault_code(st.id, t) if fault_code else 0,
                },
                village=st.village,
                gateway=gw,
            )


def fill(config: Config, start_ms: int, end_ms: int, share: Share, **kw) -> SqliteStore:
    """Open the config's store and write the readings into it."""
    store = SqliteStore(config.resolve(config.storage.path), timezone="Asia/Shanghai")
    store.write(list(readings(config, start_ms, end_ms, share, **kw)))
    return store


def comm_error(station: str, device: str, ts_ms: int) -> Reading:
    """What a collector writes when a device does not answer."""
    return Reading(
        station,
        device,
        ts_ms,
        {"power_w": None},
        {"power_w": Quality.COMM_ERROR},
    )
