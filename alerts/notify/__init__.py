"""Notifiers: each sends an event payload (alerts/message.py) to one peer.

``build_notifiers(config)`` makes one per entry of config.alerts.notify, named by its
``id`` or "<type>-<index>" (the name keys its pending deliveries in the alert database
and is what contacts list as their channels: alerts/routing.py).
"""

from __future__ import annotations

from typing import Any, Protocol

from core.config import Config
from core.config.alerts import notifier_names


class Notifier(Protocol):
    """One destination for alert events."""

    name: str
    #: takes one message per event (an email notifier may send only digests)
    takes_events: bool

    def send(self, payload: dict[str, Any]) -> None:
        """Deliver one event; raise on failure (the event stays owed and is retried)."""
        ...

    def maybe_digest(self, db: Any, now_ms: int, config: Config) -> None:
        """Send the daily digest when it is due (no-op for most notifiers)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def build_notifiers(config: Config) -> list[Notifier]:
    """One notifier per config.alerts.notify entry (no network I/O until used)."""
    from alerts.notify.county import CountyForwarder
    from alerts.notify.dingtalk import DingTalkRobot
    from alerts.notify.email import EmailSender
    from alerts.notify.mqtt import MqttPublisher
    from alerts.notify.webhook import Webhook
    from alerts.notify.wecom import WeComRobot

    out: list[Notifier] = []
    for name, n in zip(notifier_names(config.alerts.notify), config.alerts.notify, strict=True):
        if n.type == "webhook":
            out.append(Webhook(name, n))
        elif n.type == "mqtt":
            out.append(MqttPublisher(name, n, config.mqtt))
        elif n.type == "wecom":
            out.append(WeComRobot(name, n))
        elif n.type == "dingtalk":
            out.append(DingTalkRobot(name, n))
        elif n.type == "county":
            out.append(CountyForwarder(name, n, config))
        else:
            out.append(EmailSender(name, n, config))
    return out
