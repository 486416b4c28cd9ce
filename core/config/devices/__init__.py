"""Device config models, one module per protocol, listed in DEVICE_MODELS.

A new protocol is one module here (a DeviceBase subclass whose ``source`` is a
Literal naming the protocol) plus one line below; the Device union, the list of
sources and the loader's uniqueness and path checks all follow from the registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Annotated, Any, Union, get_args

from pydantic import Field

from core.config.devices.base import DeviceBase

#: "module:Class" of every protocol's device model, as written in ``source:``
DEVICE_MODELS: tuple[str, ...] = (
    "core.config.devices.modbus_tcp:ModbusTcpDevice",
    "core.config.devices.modbus_rtu:ModbusRtuDevice",
    "core.config.devices.mqtt:MqttDevice",
)


def _resolve(spec: str) -> type[DeviceBase]:
    module, _, name = spec.partition(":")
    cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, DeviceBase)):
        raise TypeError(f"{spec} is not a DeviceBase subclass")
    return cls


def source_of(cls: type[DeviceBase]) -> str:
    """The ``source:`` value that selects a device model (its one Literal value)."""
    field = cls.model_fields.get("source")
    values = get_args(field.annotation) if field is not None else ()
    if len(values) != 1 or not isinstance(values[0], str):
        raise TypeError(f"{cls.__name__}.source must be a Literal of one string")
    return values[0]


def load_models(specs: Iterable[str]) -> dict[str, type[DeviceBase]]:
    """source -> device model for each "module:Class"; TypeError when two share a source."""
    models: dict[str, type[DeviceBase]] = {}
    for spec in specs:
        cls = _resolve(spec)
        source = source_of(cls)
        if source in models:
            raise TypeError(f"{spec} and {models[source].__name__} both take source {source!r}")
        models[source] = cls
    return models


def device_union(models: Iterable[type[DeviceBase]]) -> Any:
    """One device of any of the models, chosen by its ``source:`` key."""
    return Annotated[Union[tuple(models)], Field(discriminator="source")]  # noqa: UP007


#: source -> device model, in registry order
MODELS: dict[str, type[DeviceBase]] = load_models(DEVICE_MODELS)

#: every value ``source:`` may take
SOURCES: tuple[str, ...] = tuple(MODELS)

#: one device of any registered protocol (the type of Station.devices items)
Device: Any = device_union(MODELS.values())

__all__ = [
    "DEVICE_MODELS",
    "MODELS",
    "SOURCES",
    "Device",
    "DeviceBase",
    "device_union",
    "load_models",
    "source_of",
]
