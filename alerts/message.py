"""What an alert says, in Chinese or English: station, village, owner, kind, since when,
what was seen, and the income estimated lost so far. Pure functions of the alert."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alerts.income import yuan
from alerts.state import Alert
from core.config import Config

KIND_NAMES = {
    "zh": {
        "comm_lost": "通讯中断",
        "no_output": "停止发电",
        "low_performance": "发电量偏低",
        "device_fault": "设备故障",
        "counter_anomaly": "电量计数异常",
        "village_outage": "全村电站同时停发(疑似电网停电)",
        "gateway_silent": "网关失联",
    },
    "en": {
        "comm_lost": "communication lost",
        "no_output": "no output",
        "low_performance": "low performance",
        "device_fault": "device fault",
        "counter_anomaly": "energy counter anomaly",
        "village_outage": "whole village at zero (grid outage suspected)",
        "gateway_silent": "gateway silent",
    },
}
EVENT_NAMES = {
    "zh": {"firing": "告警", "resolved": "已恢复", "reminder": "提醒(未确认)", "ack": "已确认"},
    "en": {
        "firing": "ALERT",
        "resolved": "RESOLVED",
        "reminder": "REMINDER (unacknowledged)",
        "ack": "acknowledged",
    },
}
LABELS = {
    "zh": {
        "station": "电站",
        "village": "村",
        "owner": "业主",
        "kind": "类型",
        "since": "开始时间",
        "seen": "现象",
        "lost": "估计损失收入",
        "device": "设备",
        "gateway": "网关",
        "unknown": "无法估计(发电可能仍在继续)",
        "id": "编号",
        "resolved": "恢复时间",
    },
    "en": {
        "station": "Station",
        "village": "Village",
        "owner": "Owner",
        "kind": "Kind",
        "since": "Since",
        "seen": "Seen",
        "lost": "Estimated income lost",
        "device": "Device",
        "gateway": "Gateway",
        "unknown": "not estimated (generation may continue)",
        "id": "Alert",
        "resolved": "Resolved",
    },
}


def local_time(ts_ms: int | None, config: Config) -> str:
    """UTC ms as site-local 'YYYY-MM-DD HH:MM'."""
    if ts_ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ts_ms / 1000, config.site.tz).strftime("%Y-%m-%d %H:%M")


def _minutes(ms: int) -> int:
    return max(round(ms / 60_000), 0)


def seen_text(alert: Alert, lang: str, now_ms: int, config: Config) -> str:
    """One sentence on what the rule observed."""
    s = alert.seen
    zh = lang == "zh"
    k = alert.kind
    if k in ("comm_lost", "gateway_silent"):
        last = local_time(s.get("last_reading_ms"), config)
        mins = _minutes(now_ms - (s.get("last_reading_ms") or alert.since_ms))
        extra = ""
        if k == "gateway_silent":
            extra = (
                f"({s.get('devices', '?')} 台设备)" if zh else f" ({s.get('devices', '?')} devices)"
            )
        return (
            f"最后一次收到数据 {last},已 {mins} 分钟无数据{extra}"
            if zh
            else f"last reading {last}, nothing for {mins} min{extra}"
        )
    if k == "no_output":
        mins = _minutes(now_ms - alert.since_ms)
        if "peer_share_pct" in s:
            peers = (
                f"同村 {s.get('peers')} 座电站发电达晴空预期的 {s['peer_share_pct']}%"
                if zh
                else f"{s.get('peers')} village peers at {s['peer_share_pct']}% of "
                "clear-sky expectation"
            )
        else:
            peers = (
                f"晴空预期达额定的 {s.get('clear_sky_share_pct', '?')}%"
                if zh
                else f"clear-sky output {s.get('clear_sky_share_pct', '?')}% of nameplate"
            )
        text = (
            f"功率 ≤ {s.get('max_power_w', 0):.0f} W 已 {mins} 分钟(日间),而{peers}"
            if zh
            else f"power <= {s.get('max_power_w', 0):.0f} W for {mins} min in daylight "
            f"while {peers}"
        )
        if "status" in s or "fault_code" in s:
            text += ("; " if not zh else ";") + _fault_text(s, zh)
        return text
    if k == "low_performance":
        own = ", ".join(f"{v:.2f}" for v in s.get("own_kwh_per_kwp", []))
        peer = ", ".join(f"{v:.2f}" for v in s.get("peer_median_kwh_per_kwp", []))
        return (
            f"连续 {s.get('days')} 天日发电 {own} kWh/kWp,低于同村中位数 {peer} 的 "
            f"{s.get('share_pct')}%"
            if zh
            else f"{s.get('days')} days at {own} kWh/kWp, below {s.get('share_pct')}% of "
            f"the village median {peer}"
        )
    if k == "device_fault":
        return _fault_text(s, zh)
    if k == "counter_anomaly":
        what = s.get("anomaly")
        if zh:
            w = "倒退" if what == "backwards" else "跳变"
            return f"电量计数{w}: {s.get('from_wh')} → {s.get('to_wh')} Wh"
        return f"energy counter {what}: {s.get('from_wh')} -> {s.get('to_wh')} Wh"
    if k == "village_outage":
        mins = _minutes(now_ms - alert.since_ms)
        return (
            f"全村 {s.get('stations')} 座电站同时为零已 {mins} 分钟,其他村正常发电"
            f"({s.get('outside_share_pct', '?')}%)"
            if zh
            else f"all {s.get('stations')} stations of the village at zero for {mins} min "
            f"while other villages produce ({s.get('outside_share_pct', '?')}%)"
        )
    return str(dict(s))


def _fault_text(s: dict[str, Any], zh: bool) -> str:
    parts = []
    if "status" in s:
        parts.append(f"状态码 {s['status']}" if zh else f"status {s['status']}")
    if "fault_code" in s:
        parts.append(f"故障码 {s['fault_code']}" if zh else f"fault code {s['fault_code']}")
    return ("设备报告" if zh else "device reports ") + ", ".join(parts)


def owner_name(config: Config, station_id: str | None) -> tuple[str | None, str | None]:
    """(owner id, display name) of a station: household, cooperative or village."""
    st = config.station_by_id.get(station_id or "")
    if st is None:
        return None, None
    o = st.owner
    if o in config.household_by_id:
        return o, config.household_by_id[o].name
    if o in config.cooperative_by_id:
        return o, config.cooperative_by_id[o].name
    if o in config.village_by_id:
        return o, config.village_by_id[o].name + (
            "村集体" if config.alerts.language == "zh" else " collective"
        )
    return o, o


def build_payload(
    config: Config,
    alert: Alert,
    event: str,
    now_ms: int,
    *,
    expected_wh: int | None,
    lost_fen: int | None,
    station_state: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON document of one event (webhook body, MQTT payload, mail source)."""
    lang = config.alerts.language
    lab = LABELS[lang]
    village = config.village_by_id.get(alert.village or "")
    owner_id, owner = owner_name(config, alert.station)
    kind_name = KIND_NAMES[lang].get(alert.kind, alert.kind)
    subject_name = alert.station or alert.village or alert.gateway or alert.subject
    title = f"[{EVENT_NAMES[lang].get(event, event)}] {kind_name}: {subject_name}"
    lines = [title, f"{lab['id']}: #{alert.id}"]
    if alert.station:
        lines.append(f"{lab['station']}: {alert.station}")
    if alert.device and alert.device != alert.station:
        lines.append(f"{lab['device']}: {alert.device}")
    if village:
        lines.append(f"{lab['village']}: {village.name} ({village.id})")
    if owner:
        lines.append(f"{lab['owner']}: {owner}")
    if alert.kind == "gateway_silent":
        lines.append(f"{lab['gateway']}: {alert.gateway or alert.subject}")
    lines.append(f"{lab['kind']}: {kind_name} ({alert.kind})")
    lines.append(f"{lab['since']}: {local_time(alert.since_ms, config)}")
    if event == "resolved":
        lines.append(f"{lab['resolved']}: {local_time(alert.resolved_ms, config)}")
    seen = seen_text(alert, lang, alert.resolved_ms or now_ms, config)
    lines.append(f"{lab['seen']}: {seen}")
    lost = None if lost_fen is None else yuan(lost_fen)
    if lost is None:
        lines.append(f"{lab['lost']}: {lab['unknown']}")
    else:
        kwh = f"{(expected_wh or 0) / 1000:.1f} kWh"
        lines.append(f"{lab['lost']}: {lost} {'元' if lang == 'zh' else 'yuan'} ({kwh})")
    return {
        "id": alert.id,
        "event": event,
        "kind": alert.kind,
        "kind_name": kind_name,
        "subject": alert.subject,
        "state": alert.state,
        "station": alert.station,
        "device": alert.device,
        "village": alert.village,
        "village_name": village.name if village else None,
        "gateway": alert.gateway,
        "owner": owner_id,
        "owner_name": owner,
        "since_ms": alert.since_ms,
        "since": local_time(alert.since_ms, config),
        "fired_ms": alert.fired_ms,
        "resolved_ms": alert.resolved_ms,
        "ts_ms": now_ms,
        "seen": alert.seen,
        "seen_text": seen,
        "expected_energy_wh": expected_wh,
        "lost_income_fen": lost_fen,
        "lost_income_yuan": lost,
        "language": lang,
        "title": title,
        "text": "\n".join(lines),
        "station_state": station_state,
    }
