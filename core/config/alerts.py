"""Alert rule instances and notifiers as data (collector/alerts holds the rule kinds)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

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


class Rule(Section):
    """One rule instance: a kind and its thresholds."""

    kind: RuleKind
    #: how long the condition must hold before the alert fires
    for_s: float = Field(default=1800, ge=0)
    #: no_output: power at or below this share of capacity counts as zero
    zero_power_fraction: float = Field(default=0.01, ge=0, le=1)
    #: no_output: peers must produce at least this share of their expectation
    peer_min_share: PercentStr | None = None
    #: low_performance: share of the village peer median and consecutive days
    peer_median_share: PercentStr | None = None
    days: int = Field(default=3, ge=1)
    #: stop re-notifying after resolve until the condition has been clear this long
    clear_s: float = Field(default=600, ge=0)
    stations: list[Identifier] | None = None  # None = every station


class WebhookNotifier(Section):
    """POST a JSON document per alert transition."""

    type: Literal["webhook"]
    url: str
    timeout_s: float = Field(default=5, gt=0)
    retries: int = Field(default=5, ge=0)


class MqttNotifier(Section):
    """Publish alert events (QoS 1) and a retained state topic per station."""

    type: Literal["mqtt"]
    topic: str = "pvledger/alerts"


class EmailNotifier(Section):
    """Send mail through SMTP (STARTTLS and auth when configured)."""

    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password_env: EnvName | None = None
    sender: str
    to: list[str] = Field(min_length=1)
    digest_hour: int | None = Field(default=None, ge=0, le=23)


Notifier = Annotated[WebhookNotifier | MqttNotifier | EmailNotifier, Field(discriminator="type")]


class Alerts(Section):
    """Rules, notifiers, language and the re-notification period."""

    rules: list[Rule] = Field(default_factory=list)
    notify: list[Notifier] = Field(default_factory=list)
    language: Literal["zh", "en"] = "zh"
    renotify_s: float = Field(default=6 * 3600, gt=0)
    evaluate_every_s: float = Field(default=300, gt=0)
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
