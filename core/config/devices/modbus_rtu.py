"""Modbus RTU device config: a unit on a serial RS485 bus."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from core.config.devices.base import DeviceBase
from core.config.types import Identifier


class ModbusRtuDevice(DeviceBase):
    """A Modbus RTU device on a serial RS485 bus."""

    source: Literal["modbus-rtu"]
    port: str  # serial device path, e.g. /dev/ttyUSB0
    baud: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    unit: int = Field(default=1, ge=1, le=247)
    map: Identifier
    timeout_s: float = Field(default=1.0, gt=0, le=30)

    #: a serial device (or the simulator's pty link): a path like any other in the config
    path_keys: ClassVar[tuple[str, ...]] = ("port",)

    @property
    def endpoint(self) -> str:
        """Connection key shared by devices on the same bus."""
        return self.port

    def address(self) -> tuple[tuple[object, ...], str]:
        """One unit id on one serial port."""
        return ("rtu", self.port, self.unit), f"{self.port} unit {self.unit}"
