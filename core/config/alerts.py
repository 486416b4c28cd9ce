"""Alert rule instances and notifiers as data (alerts holds the rule kinds).

Every threshold an O&M office may want to tune lives here with its default
(DOMAIN.md "Alert kinds"); the rule functions in alerts/rules.py only
take numbers. Secrets come through *_env names, never literals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from core.config.types import EnvName, Identifier, PercentStr, Section

RuleKind = Literal[
    "comm_lost",
    "no_output",
    "low_performance",
    "device_fault",
    "counter_anomaly",
    "village_outage",
    "gateway_silent",
]

#: station-level kinds a village_outage suppresses for the stations of its village
STATION_KINDS = ("comm_lost", "no_output", "low_performance", "device_fault")


class Rule(Section):
    """One rule instance: a kind and its thresholds (unused thresholds are ignored)."""

    kind: RuleKind
    #: how long the condition must hold before the alert fires [s]
    for_s: float = Field(default=1800, ge=0)
    #: comm_lost: wait at least this many poll intervals of the device (slow pollers) [-]
    poll_multiple: float = Field(default=3, ge=1)
    #: comm_lost / gateway_silent: count silence only while the sun is up (loggers and
    #: inverters sleep at night, and a night-time polling plan polls rarely)
    daylight_only: bool = True
    #: no_output / village_outage: power at or below this share of capacity counts as zero
    zero_power_share: PercentStr = Decimal("1")
    #: no_output / village_outage / device_fault: only inside sunrise + margin .. sunset -
    #: margin; comm_lost / gateway_silent (daylight_only): silence counts from sunrise +
    #: margin until sunset [s]
    window_margin_s: float = Field(default=3600, ge=0, le=6 * 3600)
    #: no_output: village peers must produce at least this share of their clear-sky
    #: expectation (kWp-normalised); village_outage: the other villages must
    peer_min_share: PercentStr = Decimal("20")
    #: no_output without peers / village_outage: clear-sky output must be at least this
    #: share of nameplate, so dawn, dusk and winter lows never count
    clear_sky_min_share: PercentStr = Decimal("30")
    #: low_performance: share of the village peer median, and consecutive days
    peer_median_share: PercentStr = Decimal("60")
    days: int = Field(default=3, ge=1, le=31)
    #: low_performance: days when the peer median is below this are too dull to judge
    #: (skipped, they neither count nor break a run) [kWh/kWp]
    min_day_kwh_per_kwp: float = Field(default=1.0, ge=0)
    #: counter_anomaly: a rise above nameplate × time × this factor is a jump [-]
    jump_factor: float = Field(default=1.5, ge=1)
    #: resolve only after the condition has been clear this long (hysteresis) [s]
    clear_s: float = Field(default=600, ge=0)
    stations: list[Identifier] | None = None  # None = every station


class WebhookNotifier(Section):
    """POST a JSON document per alert event, retrying with exponential back-off."""

    type: Literal["webhook"]
    url: str
    timeout_s: float = Field(default=5, gt=0)
    retries: int = Field(default=5, ge=0, le=20)
    #: first back-off [s]; doubles per retry
    backoff_s: float = Field(default=0.5, gt=0, le=60)
    #: sent as "Authorization: Bearer <value of the variable>"
    token_env: EnvName | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"url {v!r} must start with http:// or https://")
        if "@" in v.split("//", 1)[1].split("/", 1)[0]:
            raise ValueError("credentials in url are refused; put a token in token_env")
        return v


class MqttNotifier(Section):
    """Publish events (QoS 1) on <topic>/events and a retained state on <topic>/state/<station>.

    The broker is the one in the mqtt: section unless host/port are given here.
    """

    type: Literal["mqtt"]
    topic: str = "pvledger/alerts"
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    timeout_s: float = Field(default=5, gt=0)

    @field_validator("topic")
    @classmethod
    def _plain_topic(cls, v: str) -> str:
        if not v or any(c in v for c in "+#") or v.endswith("/"):
            raise ValueError(f"topic {v!r} must be a concrete topic without wildcards")
        return v


class EmailNotifier(Section):
    """Send mail through SMTP (STARTTLS, then AUTH when a username is given)."""

    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password_env: EnvName | None = None
    #: CA bundle to verify the server's certificate (self-signed county servers)
    ca_file: str | None = None
    sender: str
    to: list[str] = Field(min_length=1)
    #: one mail per alert event
    events: bool = True
    #: a daily digest of open alerts and the last day's events at this local hour
    digest_hour: int | None = Field(default=None, ge=0, le=23)
    timeout_s: float = Field(default=10, gt=0)

    @model_validator(mode="after")
    def _auth_needs_tls(self) -> EmailNotifier:
        if (self.username is None) != (self.password_env is None):
            raise ValueError("give both username and password_env, or neither")
        if self.username is not None and not self.starttls:
            raise ValueError("SMTP AUTH sends the password: it needs starttls: true")
        if not self.events and self.digest_hour is None:
            raise ValueError("this notifier sends nothing: set events: true or a digest_hour")
        return self


Notifier = Annotated[WebhookNotifier | MqttNotifier | EmailNotifier, Field(discriminator="type")]


class Alerts(Section):
    """Rules, notifiers, language and the re-notification period."""

    rules: list[Rule] = Field(default_factory=list)
    notify: list[Notifier] = Field(default_factory=list)
    language: Literal["zh", "en"] = "zh"
    #: remind about firing alerts nobody acknowledged, this often [s]
    renotify_s: float = Field(default=6 * 3600, gt=0)
    #: evaluate the rules this often (simulated seconds under an accelerated clock) [s]
    evaluate_every_s: float = Field(default=300, gt=0)
    #: alert lifecycle and history (SQLite), relative to config.yaml
    db_path: str = "data/alerts.db"

    @model_validator(mode="after")
    def _one_rule_per_kind(self) -> Alerts:
        kinds = [r.kind for r in self.rules if r.stations is None]
        dup = {k for k in kinds if kinds.count(k) > 1}
        if dup:
            raise ValueError(
                f"more than one fleet-wide rule of kind {sorted(dup)}; "
                "limit the extra ones with stations: [...]"
            )
        return self
