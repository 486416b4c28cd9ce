"""Modbus TCP device config (inverter, meter, or a unit behind an RS485-to-Ethernet converter)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.config.devices.base import DeviceBase
from core.config.types import Identifier


class ModbusTcpDevice(DeviceBase):
    """A Modbus TCP device (inverter, meter, or RS485-to-Ethernet converter unit)."""

    source: Literal["modbus-tcp"]
    host: str
    port: int = Field(default=502, ge=1, le=65535)
    unit: int = Field(default=1, ge=0, le=247)
    map: Identifier
    timeout_s: float = Field(default=1.0, gt=0, le=30)

    @property
    def endpoint(self) -> str:
        """Connection key shared by devices behind the same socket."""
        return f"{self.host}:{self.port}"

    def address(self) -> tuple[tuple[object, ...], str]:
        """One unit id on one host:port."""
        return ("tcp", self.host, self.port, self.unit), f"{self.host}:{self.port} unit {self.unit}"
