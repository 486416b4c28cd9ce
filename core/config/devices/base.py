"""What every device config has, and the hooks the loader asks each protocol.

A protocol's device model (one module beside this one, one line in the registry)
says in its own terms what must be unique across the fleet and which of its keys
are file paths; the loader checks those without knowing any protocol.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from core.config.types import Identifier, Section


class DeviceBase(Section):
    """Keys common to every device: id, role, polling interval, simulator profile."""

    id: Identifier
    role: Literal["inverter", "meter", "logger"] = "inverter"
    interval_s: float = Field(default=30, gt=0, le=3600)
    #: the simulator profile that serves this device (demo/test fleets only)
    simulate: str | None = None

    #: keys whose value is a file path (confined to the config's folder)
    path_keys: ClassVar[tuple[str, ...]] = ()

    def address(self) -> tuple[tuple[object, ...], str] | None:
        """(key, shown text) of where the device answers, or None when it has no address.

        Two devices with the same key are refused: one address, one device.
        """
        return None

    def claims(self) -> tuple[tuple[str, str, str], ...]:
        """(key, value, fix) for each value no other device may hold."""
        return ()
