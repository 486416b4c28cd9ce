"""One station, one MQTT identity: each logger's broker account and the one topic it owns.

The village broker's ACL grants every account ``pattern write pv/+/%u``: a logger
may publish only on topics ending in its own user name. That protects a station
only if the config agrees: the topic of each MQTT device is exactly
``pv/<its station's village>/<its account>`` and no two devices share an account.
Then a logger's password, copied or stolen, speaks for its own station and no other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from core.config.model import MqttDevice, Station
from core.config.yamlsrc import KeyPath

#: the first topic level of every logger reading
TOPIC_ROOT = "pv"


@dataclass(frozen=True, slots=True)
class LoggerAccount:
    """An MQTT device's broker identity."""

    account: str
    topic: str
    station: str
    device: str


def device_account(station: Station, device: MqttDevice) -> str:
    """The broker user name of a logger: its explicit account, else its station's id."""
    return device.account or station.id


def owned_topic(station: Station, account: str) -> str:
    """The only topic an account may publish on for this station."""
    return f"{TOPIC_ROOT}/{station.village}/{account}"


def logger_accounts(stations: Iterable[Station]) -> list[LoggerAccount]:
    """Every MQTT device's account, in config order."""
    return [
        LoggerAccount(device_account(s, d), d.topic, s.id, d.id)
        for s in stations
        for d in s.devices
        if isinstance(d, MqttDevice)
    ]


def identity_problems(
    stations: Iterable[tuple[int, Station]], reserved: dict[str, str]
) -> Iterator[tuple[KeyPath, str, str]]:
    """(key path, message, fix) for each MQTT device whose topic is not its account's own.

    ``reserved`` maps user names that are not loggers' (the collector's
    mqtt.username) to what they are.
    """
    seen: dict[str, str] = {}
    for i, s in stations:
        for j, d in enumerate(s.devices):
            if not isinstance(d, MqttDevice):
                continue
            kp: KeyPath = ("stations", i, "devices", j)
            account = device_account(s, d)
            where = "account" if d.account else "topic"
            want = owned_topic(s, account)
            if d.topic != want:
                source = "its account" if d.account else "its station's id (its default account)"
                yield (
                    (*kp, "topic"),
                    f"topic {d.topic!r} of device {d.id!r} is not {want!r}: a logger publishes "
                    f"as {TOPIC_ROOT}/<village>/<account>, the account being {source}, and "
                    "the broker lets it write only there",
                    f"write topic: {want} (or set account: to the user name the logger logs "
                    f"in with and the topic to {TOPIC_ROOT}/{s.village}/<account>)",
                )
            if account in reserved:
                yield (
                    (*kp, where),
                    f"account {account!r} of device {d.id!r} is {reserved[account]}",
                    "give the logger an account of its own (account: ...)",
                )
            if account in seen:
                yield (
                    (*kp, where),
                    f"account {account!r} of device {d.id!r} is already the account of "
                    f"{seen[account]!r}: one logger's password would speak for both",
                    "give each logger its own account: (and topic pv/<village>/<account>)",
                )
            seen.setdefault(account, d.id)
