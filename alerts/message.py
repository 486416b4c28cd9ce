"""What an alert says, in Chinese or English: station, village, owner, kind, since when,
what was seen, and the income estimated lost so far. Pure functions of the alert; the
kind's name and what it observed are the kind's own (alerts/kinds/)."""

from __future__ import annotations

from typing import Any

from alerts.income import yuan
from alerts.kinds import kind_name, kinds
from alerts.state import Alert
from alerts.wording import local_time
from core.config import Config

__all__ = ["build_payload", "kind_name", "local_time", "observed_text", "owner_name"]

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


def observed_text(alert: Alert, lang: str, now_ms: int, config: Config) -> str:
    """One sentence on what the alert's kind observed (the kind's own words)."""
    k = kinds().get(alert.kind)
    return k.observed(alert, lang, now_ms, config) if k is not None else str(dict(alert.seen))


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
    name = kind_name(alert.kind, lang)
    subject_name = alert.station or alert.village or alert.gateway or alert.subject
    title = f"[{EVENT_NAMES[lang].get(event, event)}] {name}: {subject_name}"
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
    lines.append(f"{lab['kind']}: {name} ({alert.kind})")
    lines.append(f"{lab['since']}: {local_time(alert.since_ms, config)}")
    if event == "resolved":
        lines.append(f"{lab['resolved']}: {local_time(alert.resolved_ms, config)}")
    seen = observed_text(alert, lang, alert.resolved_ms or now_ms, config)
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
        "kind_name": name,
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
