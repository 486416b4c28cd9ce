"""What a work order event says, and queueing it on the alerts' own delivery path.

The events go into the alert database's events and deliveries tables (alerts/state.py
SCHEMA) so alerts/delivery.py sends them to every notifier with the alerts' retries;
``"level"`` in the payload names the contact level they are for (alerts/routing.py).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alerts.income import yuan
from alerts.message import kind_name, local_time, owner_name
from alerts.workorders.model import WorkOrder
from core.config import Config

EVENT_WORDS = {
    "zh": {
        "workorder_opened": "工单",
        "workorder_escalated": "工单超期升级",
        "workorder_verified": "工单已核实修复",
        "workorder_reopened": "工单重新打开",
    },
    "en": {
        "workorder_opened": "WORK ORDER",
        "workorder_escalated": "WORK ORDER OVERDUE",
        "workorder_verified": "WORK ORDER VERIFIED",
        "workorder_reopened": "WORK ORDER REOPENED",
    },
}
LABELS = {
    "zh": {
        "state": "状态",
        "assignee": "负责人",
        "opened": "开单时间",
        "due": "修复期限",
        "lost": "损失电量/收入",
        "level": "升级级别",
        "none": "未指派",
    },
    "en": {
        "state": "State",
        "assignee": "Assigned to",
        "opened": "Opened",
        "due": "Repair due",
        "lost": "Energy / income lost",
        "level": "Escalation level",
        "none": "not assigned",
    },
}


def payload(
    config: Config, order: WorkOrder, event: str, now_ms: int, *, level: int, due_ms: int | None
) -> dict[str, Any]:
    """The JSON document of one work order event (same keys notifiers read as alerts')."""
    lang = config.alerts.language
    lab = LABELS[lang]
    name = kind_name(order.kind, lang)
    title = f"[{EVENT_WORDS[lang][event]}] #{order.id} {name}: {order.subject}"
    owner_id, owner = owner_name(config, order.station)
    village = config.village_by_id.get(order.village or "")
    who = config.om.person(order.assignee or "")
    lines = [title]
    if village:
        lines.append(f"{village.name} ({village.id})" + (f", {owner}" if owner else ""))
    lines += [
        f"{lab['state']}: {order.state}",
        f"{lab['assignee']}: {who.name if who else order.assignee or lab['none']}",
        f"{lab['opened']}: {local_time(order.opened_ms, config)}",
    ]
    if due_ms is not None:
        lines.append(f"{lab['due']}: {local_time(due_ms, config)}")
    if level:
        lines.append(f"{lab['level']}: {level}")
    if order.lost_fen is not None:
        kwh = (order.lost_wh or 0) / 1000
        unit = "元" if lang == "zh" else "yuan"
        lines.append(f"{lab['lost']}: {kwh:.1f} kWh / {yuan(order.lost_fen)} {unit}")
    return {
        "id": order.alert_id or 0,
        "workorder": order.id,
        "event": event,
        "kind": order.kind,
        "kind_name": name,
        "subject": order.subject,
        "state": order.state,
        "station": order.station,
        "village": order.village,
        "owner": owner_id,
        "owner_name": owner,
        "assignee": order.assignee,
        "level": level,
        "ts_ms": now_ms,
        "since_ms": order.fault_start_ms,
        "due_ms": due_ms,
        "expected_energy_wh": order.lost_wh,
        "lost_income_fen": order.lost_fen,
        "lost_income_yuan": None if order.lost_fen is None else yuan(order.lost_fen),
        "language": lang,
        "title": title,
        "text": "\n".join(lines),
        "station_state": None,
    }


def enqueue(
    alert_db_path: Path, doc: dict[str, Any], *, now_ms: int, notifiers: Sequence[str]
) -> int:
    """Owe one event to every notifier in the alert database; returns its event id."""
    db = sqlite3.connect(str(alert_db_path), isolation_level=None, timeout=30)
    try:
        db.execute("BEGIN IMMEDIATE")
        cur = db.execute(
            "INSERT INTO events (alert_id, ts_ms, event, payload) VALUES (?,?,?,?)",
            (doc["id"], now_ms, doc["event"], json.dumps(doc, ensure_ascii=False)),
        )
        eid = int(cur.lastrowid or 0)
        db.executemany(
            "INSERT INTO deliveries (event_id, notifier) VALUES (?, ?)",
            [(eid, n) for n in notifiers],
        )
        db.execute("COMMIT")
        return eid
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.close()
