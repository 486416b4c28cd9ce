"""Config sections for the fleet and its infrastructure (DESIGN.md §5)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from core.config.devices import Device

# the device models live in core/config/devices/, one module per protocol; their
# names stay importable from here for the callers that use them
from core.config.devices.modbus_rtu import ModbusRtuDevice as ModbusRtuDevice
from core.config.devices.modbus_tcp import ModbusTcpDevice as ModbusTcpDevice
from core.config.devices.mqtt import MqttDevice as MqttDevice
from core.config.plausibility import Limits
from core.config.types import EnvName, Identifier, Section

#: an IANA zone name: Asia/Shanghai, UTC, America/Argentina/Buenos_Aires, Etc/GMT-8
_ZONE_RE = re.compile(r"^[A-Za-z0-9_+-]{1,30}(/[A-Za-z0-9_+-]{1,30}){0,3}$")


class Site(Section):
    """Where the fleet is: the time zone of periods and the coordinates for the sun."""

    name: str
    timezone: str = "Asia/Shanghai"
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    #: the gateway id this config runs on (tag on every reading)
    gateway: Identifier = "gw-1"
    #: language of web pages, exports and notifications unless a user or --lang says else
    language: Literal["zh", "en"] = "zh"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        # checked by shape first: ZoneInfo treats the name as a file path, and a long
        # or odd one ends in OSError or RecursionError instead of "not found"
        try:
            if not _ZONE_RE.match(v):
                raise ValueError
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            shown = v if len(v) <= 64 else f"{v[:64]}..."
            raise ValueError(
                f"unknown time zone {shown!r}; use an IANA name such as Asia/Shanghai"
            ) from None
        return v

    @property
    def tz(self) -> ZoneInfo:
        """The site's time zone."""
        return ZoneInfo(self.timezone)


class Tls(Section):
    """TLS settings for a client connection."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False


class Storage(Section):
    """Where readings go: the embedded SQLite file, or a central database via an outbox."""

    backend: Literal["sqlite", "influxdb", "victoriametrics"] = "sqlite"
    path: str = "data/pvledger.db"
    #: writes (the outbox drains here) and, without read_url, reads too
    url: str | None = None
    #: reads (revenue, alerts, readings) when they go elsewhere, e.g. a province's vmauth
    read_url: str | None = None
    org: str = "pvledger"
    bucket: str = "pvledger"
    token_env: EnvName | None = None
    #: the read token when it differs from the write token (e.g. a read-only county token)
    read_token_env: EnvName | None = None
    outbox_path: str = "data/outbox.db"
    outbox_budget_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    batch_size: int = Field(default=5000, gt=0)
    flush_interval_s: float = Field(default=2.0, gt=0)
    #: gateway: keep raw samples in the SQLite store this many days, and longer until
    #: the county database acknowledged them (the outbox); None keeps them for ever [d]
    raw_retention_days: int | None = Field(default=None, ge=1)
    #: the plausibility gate's limits (core/config/plausibility.py)
    limits: Limits = Field(default_factory=Limits)

    @model_validator(mode="after")
    def _url_for_remote(self) -> Storage:
        if self.backend != "sqlite" and not self.url:
            raise ValueError(f"backend {self.backend!r} needs url: (e.g. http://127.0.0.1:8428)")
        if self.backend == "sqlite" and self.raw_retention_days is not None:
            raise ValueError(
                "raw_retention_days needs a forwarding backend (influxdb or victoriametrics): "
                "with backend sqlite nothing is acknowledged by a county database and this "
                "store is the record; remove raw_retention_days"
            )
        if self.url and "@" in self.url.split("//", 1)[-1].split("/", 1)[0]:
            raise ValueError("credentials in url are refused; put the token in token_env")
        if self.backend == "sqlite" and (self.read_url or self.read_token_env):
            raise ValueError(
                "read_url / read_token_env are for backend influxdb or victoriametrics;"
                " remove them for the embedded sqlite store"
            )
        if self.read_url and (problem := read_url_problem(self.read_url)):
            raise ValueError(f"read_url: {problem}")
        return self

    @property
    def reads_url(self) -> str:
        """Base URL reads go to: read_url, else url."""
        return self.read_url or self.url or ""

    @property
    def reads_token_env(self) -> str | None:
        """Variable holding the read token: read_token_env, else token_env."""
        return self.read_token_env or self.token_env


def read_url_problem(url: str) -> str | None:
    """What is wrong with a read base URL, or None (pure: no network)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL (e.g. http://10.8.0.1:8427)"
    if "@" in parts.netloc:
        return "credentials in the URL are refused; put the token in read_token_env"
    if parts.query or parts.fragment:
        return f"{url!r} has a query or fragment; give the base URL only"
    return None


class Mqtt(Section):
    """The MQTT broker the gateway subscribes to (and publishes status/alerts on)."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password_env: EnvName | None = None
    tls: Tls | None = None
    client_id: str | None = None
    keepalive_s: int = Field(default=60, ge=5)
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    #: largest payload accepted; bigger ones go to the dead-letter table
    max_payload_bytes: int = Field(default=16384, gt=0)
    #: extra topic filters (wildcards allowed) watched for loggers missing from the
    #: config; their messages go to the dead-letter table as "unknown device"
    subscribe: list[str] = Field(default_factory=list)


class Village(Section):
    """An administrative village (行政村); owns its village station."""

    id: Identifier
    name: str
    town: str = ""
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    gateway: Identifier | None = None


class Household(Section):
    """A registered poor household (贫困户); names are masked in public exports."""

    id: Identifier
    name: str = Field(min_length=1)
    village: Identifier
    card: str = ""  # 建档立卡 card colour or number
    account: str = ""  # bank account (一卡通); masked in every export but the bank file
    #: national ID number (居民身份证号码), stored as given; masked in every output
    id_number: str = ""


class Member(Section):
    """A household's shares in a cooperative, from ``since`` until ``until`` (exclusive).

    The dates say who owned the array in an earlier period, so money received late for
    it reaches the members of then (revenue/late_money.py). Both fall on the first of a
    month (a payout period is whole months); none = a member from the start / still one.
    """

    household: Identifier
    shares: int = Field(gt=0, description="whole shares held (e.g. 1 share = 1 kW)")
    since: dt.date | None = None
    until: dt.date | None = None

    @model_validator(mode="after")
    def _month_bounds(self) -> Member:
        for name in ("since", "until"):
            d = getattr(self, name)
            if d is not None and d.day != 1:
                raise ValueError(
                    f"{name} {d} is not the first of a month; membership changes at a "
                    f"month boundary (write {d.replace(day=1)})"
                )
        if self.since and self.until and self.until <= self.since:
            raise ValueError(f"until {self.until} must be after since {self.since}")
        return self

    def holds(self, start: dt.date, end: dt.date) -> bool:
        """True when the membership covers the whole of [start, end)."""
        return (self.since is None or self.since <= start) and (
            self.until is None or self.until >= end
        )


class Cooperative(Section):
    """A PV cooperative (光伏合作社) owning its own array; members hold shares."""

    id: Identifier
    name: str
    village: Identifier
    members: list[Member] = Field(min_length=1)

    def members_during(self, start: dt.date, end: dt.date) -> list[Member]:
        """The members whose membership covers the whole of [start, end)."""
        return [m for m in self.members if m.holds(start, end)]


class Station(Section):
    """A PV station: household rooftop, village array or cooperative array."""

    id: Identifier
    kind: Literal["household", "village", "cooperative"]
    capacity_kw: float = Field(gt=0, le=100_000)
    owner: Identifier
    village: Identifier
    tariff_class: str | None = None
    #: in the subsidy catalogue (补贴目录); a station outside earns the coal part only
    subsidy_catalogue: bool = True
    #: in the catalogue from this date only (added later): earlier days earn no subsidy
    catalogue_from: dt.date | None = None
    commissioned: dt.date | None = None
    devices: list[Device] = Field(default_factory=list)

    @model_validator(mode="after")
    def _catalogue_from_in_catalogue(self) -> Station:
        if self.catalogue_from is not None and not self.subsidy_catalogue:
            raise ValueError(
                "catalogue_from is the date a station entered the subsidy catalogue; with "
                "subsidy_catalogue: false it has none: remove one of them"
            )
        return self
