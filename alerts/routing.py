"""Who hears about an event, and when: contacts by village and kind, escalation to the
next level when nobody acknowledged in time, quiet hours for non-urgent kinds.

Pure functions of the config, one event payload, the alert's acknowledgement and the
time. ``decide`` says, for one notifier (a contact's channel) and one owed event:
``send`` now, ``hold`` (owed, asked again at the next delivery round: an escalation
not yet due, quiet hours) or ``skip`` (nobody on this channel is to hear it: recorded,
never sent). A notifier no contact names hears every event, as before contacts.

Escalation: contacts of level 0 are told when the alert fires; those of level n when
it is still unacknowledged (and open) n x alerts.escalate_after_s after it fired; each
level hears the resolution of what it was told. A work order (or any producer of
events through the same delivery path) may name the level itself with ``"level": n``
in its payload: then exactly the contacts of that level are told, at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from alerts.quiet import in_quiet, quiet_end
from core.config import Config
from core.config.alerts import Contact

Action = Literal["send", "hold", "skip"]

ESCALATED = {"zh": "升级", "en": "ESCALATED"}


@dataclass(frozen=True)
class Decision:
    """What to do now with one owed event on one channel."""

    action: Action
    reason: str = ""
    #: the highest contact level it goes to (0: first contacts)
    level: int = 0
    #: ids of the contacts told by this send
    contacts: tuple[str, ...] = ()


def event_villages(config: Config, payload: dict[str, Any]) -> set[str]:
    """The villages an event concerns: its own, its station's, or its gateway's."""
    v = payload.get("village")
    if v:
        return {v}
    st = config.station_by_id.get(payload.get("station") or "")
    if st is not None:
        return {st.village}
    gw = payload.get("gateway")
    return {x.id for x in config.villages if gw and x.gateway == gw}


def matches(contact: Contact, villages: Iterable[str], kind: str | None) -> bool:
    """Whether a contact covers an event of these villages and this kind."""
    if contact.kinds is not None and kind not in contact.kinds:
        return False
    return contact.villages is None or bool(set(contact.villages) & set(villages))


def chain(config: Config, payload: dict[str, Any]) -> list[Contact]:
    """The contacts covering an event, by level (config order within a level)."""
    villages = event_villages(config, payload)
    found = [c for c in config.alerts.contacts if matches(c, villages, payload.get("kind"))]
    return sorted(found, key=lambda c: c.level)


def routed_channels(config: Config) -> set[str]:
    """Notifier names some contact lists (the others hear every event)."""
    return {ch for c in config.alerts.contacts for ch in c.channels}


def _local(config: Config, ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, config.site.tz)


def _hhmm(config: Config, ms: int) -> str:
    return _local(config, ms).strftime("%Y-%m-%d %H:%M")


def contact_decision(
    config: Config,
    contact: Contact,
    payload: dict[str, Any],
    *,
    now_ms: int,
    acked_ms: int | None,
    resolved_ms: int | None,
) -> Decision:
    """send / hold / skip for one contact (see the module docstring)."""
    level = contact.level
    event = payload.get("event")
    told = Decision("send", level=level, contacts=(contact.id,))
    if "level" in payload:  # the producer chose the level (a work order escalating)
        if payload["level"] != level:
            return Decision("skip", f"for level {payload['level']}, {contact.id} is {level}")
    elif level > 0:
        base = payload.get("fired_ms") or payload.get("ts_ms") or now_ms
        due = base + int(level * config.alerts.escalate_after_s * 1000)
        if acked_ms is not None and acked_ms < due:
            return Decision("skip", f"acknowledged before escalation to level {level}")
        if event == "resolved":
            end = payload.get("resolved_ms") or payload.get("ts_ms") or now_ms
            if end < due:
                return Decision("skip", f"resolved before escalation to level {level}")
        elif resolved_ms is not None and resolved_ms < due:
            return Decision("skip", f"resolved before escalation to level {level}")
        elif now_ms < due:
            return Decision("hold", f"escalates to {contact.id} at {_hhmm(config, due)}")
    q = contact.quiet_hours
    if q is not None and payload.get("kind") not in config.alerts.urgent_kinds:
        local = _local(config, now_ms)
        if in_quiet(q, local):
            until = quiet_end(q, local).strftime("%H:%M")
            return Decision("hold", f"quiet hours of {contact.id} until {until}")
    return told


def decide(
    config: Config,
    channel: str,
    payload: dict[str, Any],
    *,
    now_ms: int,
    acked_ms: int | None = None,
    resolved_ms: int | None = None,
) -> Decision:
    """send / hold / skip for one owed event on one notifier (see the module docstring)."""
    if channel not in routed_channels(config):
        return Decision("send")
    mine = [c for c in chain(config, payload) if channel in c.channels]
    if not mine:
        return Decision("skip", f"no contact on {channel} covers this village and kind")
    decisions = [
        contact_decision(
            config, c, payload, now_ms=now_ms, acked_ms=acked_ms, resolved_ms=resolved_ms
        )
        for c in mine
    ]
    sends = [d for d in decisions if d.action == "send"]
    if sends:
        return Decision(
            "send",
            level=max(d.level for d in sends),
            contacts=tuple(c for d in sends for c in d.contacts),
        )
    holds = [d for d in decisions if d.action == "hold"]
    if holds:
        return holds[0]
    return Decision("skip", "; ".join(d.reason for d in decisions))


def labelled(config: Config, payload: dict[str, Any], decision: Decision) -> dict[str, Any]:
    """The payload as sent on a routed channel: who it is for, and an escalation's mark."""
    if not decision.contacts:
        return payload
    out = {**payload, "contacts": list(decision.contacts), "contact_level": decision.level}
    if decision.level > 0 and "level" not in payload:
        mark = f"[{ESCALATED[config.alerts.language]}] "
        title = str(payload.get("title", ""))
        out["title"] = mark + title
        text = str(payload.get("text", ""))
        out["text"] = mark + text if text.startswith(title) else text
    return out
