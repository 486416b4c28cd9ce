"""Small pieces of alert text shared by the kinds and the messages (zh/en)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from alerts.state import Alert
from core.config import Config


def local_time(ts_ms: int | None, config: Config) -> str:
    """UTC ms as site-local 'YYYY-MM-DD HH:MM'."""
    if ts_ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ts_ms / 1000, config.site.tz).strftime("%Y-%m-%d %H:%M")


def minutes(ms: int) -> int:
    """A duration [ms] in whole minutes, never negative."""
    return max(round(ms / 60_000), 0)


def fault_text(seen: Mapping[str, Any], zh: bool) -> str:
    """What a device reports about its fault, in one phrase."""
    parts = []
    if "status" in seen:
        parts.append(f"状态码 {seen['status']}" if zh else f"status {seen['status']}")
    if "fault_code" in seen:
        parts.append(f"故障码 {seen['fault_code']}" if zh else f"fault code {seen['fault_code']}")
    return ("设备报告" if zh else "device reports ") + ", ".join(parts)


def silence_text(alert: Alert, lang: str, now_ms: int, config: Config, extra: str = "") -> str:
    """When the last reading came and how long nothing has (comm_lost, gateway_silent)."""
    s = alert.seen
    last = local_time(s.get("last_reading_ms"), config)
    mins = minutes(now_ms - (s.get("last_reading_ms") or alert.since_ms))
    if lang == "zh":
        return f"最后一次收到数据 {last},已 {mins} 分钟无数据{extra}"
    return f"last reading {last}, nothing for {mins} min{extra}"
