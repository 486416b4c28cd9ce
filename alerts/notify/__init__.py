"""Notifiers: each sends an event payload (alerts/message.py) to one peer.

``build_notifiers(config)`` makes one per entry of config.alerts.notify, named
"<type>-<index>" (the name keys its pending deliveries in the alert database).
"""

from __future__ import annotations

from typing import Any, Protocol

from core.config import Config


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
    from alerts.notify.email import EmailSender
    from alerts.notify.mqtt import MqttPublisher
    from alerts.notify.webhook import Webhook

    out: list[Notifier] = []
    for i, n in enumerate(config.alerts.notify):
        name = f"{n.type}-{i}"
        if n.type == "webhook":
            out.append(Webhook(name, n))
        elif n.type == "mqtt":
            out.append(MqttPublisher(name, n, config.mqtt))
        else:
            out.append(EmailSender(name, n, config))
    return out
