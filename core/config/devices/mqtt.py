"""MQTT data logger config: publishes readings on its own topic."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from core.config.devices.base import DeviceBase
from core.config.types import Identifier


class MqttDevice(DeviceBase):
    """A data logger publishing readings over MQTT."""

    source: Literal["mqtt"]
    role: Literal["inverter", "meter", "logger"] = "logger"
    topic: str
    decoder: Identifier = "json"
    #: the logger's own user name on the broker (default: its station's id); the
    #: topic must be pv/<village>/<account> (core/config/mqtt_identity.py)
    account: Identifier | None = None

    @field_validator("topic")
    @classmethod
    def _plain_topic(cls, v: str) -> str:
        if not v or any(c in v for c in "+#"):
            raise ValueError(f"topic {v!r} must be a concrete topic without wildcards")
        return v

    def claims(self) -> tuple[tuple[str, str, str], ...]:
        """A topic belongs to one logger."""
        return (("topic", self.topic, "give each logger its own topic"),)
