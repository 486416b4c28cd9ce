"""The daily digest: one message per contact per site-local day, listing the open
alerts of its villages and kinds, sent on each of its channels at its digest_hour
(later that day if the service was not running then, never in its quiet hours).
Building the message is pure; ``send_digests`` remembers per contact and channel the
day already sent."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from alerts.kinds import kind_name
from alerts.quiet import in_quiet
from alerts.routing import event_villages, matches
from alerts.state import Alert
from alerts.wording import local_time
from core.config import Config
from core.config.alerts import Contact

log = logging.getLogger("alerts")


def digest_due(contact: Contact, local_now: dt.datetime, last_day: str | None) -> bool:
    """Whether the contact's digest of local_now's day is due and not yet sent (a digest
    is never urgent: not inside the contact's quiet hours)."""
    if contact.digest_hour is None or last_day == local_now.date().isoformat():
        return False
    if contact.quiet_hours is not None and in_quiet(contact.quiet_hours, local_now):
        return False
    return local_now.hour >= contact.digest_hour


def contact_alerts(config: Config, contact: Contact, alerts: Iterable[Alert]) -> list[Alert]:
    """The firing alerts a contact covers (its villages and kinds), oldest first."""
    out = []
    for a in alerts:
        if a.state != "firing":
            continue
        where = {"village": a.village, "station": a.station, "gateway": a.gateway}
        if matches(contact, event_villages(config, where), a.kind):
            out.append(a)
    return sorted(out, key=lambda a: (a.since_ms, a.id))


def digest_payload(
    config: Config, contact: Contact, alerts: Sequence[Alert], now_ms: int
) -> dict[str, Any]:
    """The digest message (title, text) of one contact: the open alerts it covers."""
    lang = config.alerts.language
    zh = lang == "zh"
    day = local_time(now_ms, config)[:10]
    title = (
        f"[光伏告警日报] {day} {contact.name}: {len(alerts)} 条未恢复"
        if zh
        else f"[PV alerts digest] {day} {contact.name}: {len(alerts)} open"
    )
    lines = [title]
    for a in alerts:
        ack = ("已确认" if zh else "acked") if a.acked_ms else ("未确认" if zh else "not acked")
        where = a.station or a.village or a.gateway or a.subject
        since = local_time(a.since_ms, config)
        lines.append(
            f"#{a.id} {kind_name(a.kind, lang)} {where} {'自' if zh else 'since'} {since} ({ack})"
        )
    if not alerts:
        lines.append("无未恢复的告警" if zh else "no open alerts")
    return {
        "event": "digest",
        "contact": contact.id,
        "day": day,
        "alert_ids": [a.id for a in alerts],
        "ts_ms": now_ms,
        "language": lang,
        "title": title,
        "text": "\n".join(lines),
    }


def digest_key(contact: Contact, channel: str) -> str:
    """The meta key holding the last local day sent to one channel of a contact."""
    return f"digest:contact:{contact.id}:{channel}"


def send_digests(notifiers: Sequence[Any], db: Any, config: Config, now_ms: int) -> int:
    """Send each contact's digest when due, on each channel not yet sent today; a channel
    that fails is tried again at the next round. Returns the messages sent."""
    by_name = {n.name: n for n in notifiers}
    local = dt.datetime.fromtimestamp(now_ms / 1000, config.site.tz)
    sent = 0
    payloads: dict[str, dict[str, Any]] = {}
    for contact in config.alerts.contacts:
        for channel in contact.channels:
            n = by_name.get(channel)
            key = digest_key(contact, channel)
            if n is None or not digest_due(contact, local, db.meta(key)):
                continue
            if contact.id not in payloads:
                mine = contact_alerts(config, contact, db.open_alerts())
                payloads[contact.id] = digest_payload(config, contact, mine, now_ms)
            try:
                n.send(payloads[contact.id])
            except Exception as exc:
                log.warning("digest for %s on %s not sent: %s", contact.id, channel, exc)
                continue
            db.set_meta(key, local.date().isoformat())
            sent += 1
    return sent
