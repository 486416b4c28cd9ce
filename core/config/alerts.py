"""Alert rule instances and notifiers as data; each alert kind declares its own rule model.

An alert kind is one module, ``alerts/kinds/<kind>.py``: its rule model (a RuleBase
subclass whose ``kind`` is the Literal of its name, its thresholds as fields with their
defaults, DOMAIN.md "Alert kinds"), its evaluation, traits and texts. ``alerts.rules``
is a discriminated union of those models on ``kind``, so a threshold another kind uses
(``jump_factor`` on a ``no_output`` rule) is refused at load with its key path, and an
unknown kind is refused naming the known ones.

Why the models are found by name. core must not import alerts (alerts -> core, never
back), yet the loader must validate with models the kinds declare. So core names the
registry as a string, ``RULE_MODELS`` (like collector/service.py COMPONENTS), and
imports it only when a config has alert rules: the static import graph stays one way
(core has no ``import alerts``), a config without rules never loads the alerts package,
and the kind modules use only core (RuleBase and the threshold types below), so
loading them pulls in nothing heavy. The registry finds the kinds by listing the
``alerts/kinds`` folder, so a new kind is one file, with no line to add here.
Secrets come through *_env names, never literals.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union

from pydantic import (
    Field,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from core.config.types import EnvName, Identifier, PercentStr, Section

#: "module:function" returning {kind: rule model} (alerts/kinds/__init__.py); imported
#: by name, only when a config has rules (see the module docstring)
RULE_MODELS = "alerts.kinds:rule_models"

#: thresholds several kinds take (each kind gives its own default)
Seconds = Annotated[float, Field(ge=0)]
#: a margin after sunrise / before sunset [s], at most 6 h
MarginS = Annotated[float, Field(ge=0, le=6 * 3600)]
Share = PercentStr


class RuleBase(Section):
    """What every rule has: its kind, how long it must hold, its hysteresis, its stations.

    A kind's model adds its thresholds; keys that are not fields of the kind's model
    are refused (Section forbids extras).
    """

    kind: str
    #: how long the condition must hold before the alert fires [s]
    for_s: Seconds = 1800
    #: resolve only after the condition has been clear this long (hysteresis) [s]
    clear_s: Seconds = 600
    stations: list[Identifier] | None = None  # None = every station


@functools.cache
def rule_models() -> Mapping[str, type[RuleBase]]:
    """kind -> rule model, from the alerts registry (imported on first use)."""
    module, _, name = RULE_MODELS.partition(":")
    models = getattr(importlib.import_module(module), name)()
    for kind, cls in models.items():
        if not (isinstance(cls, type) and issubclass(cls, RuleBase)):
            raise TypeError(f"the rule model of {kind!r} is not a RuleBase subclass")
    return dict(models)


@functools.cache
def _rules_adapter() -> TypeAdapter[list[RuleBase]]:
    members = tuple(rule_models().values())
    one = Annotated[Union[members], Field(discriminator="kind")]  # noqa: UP007
    return TypeAdapter(list[one])  # type: ignore[valid-type]


def _without_kind_tag(exc: ValidationError) -> ValidationError:
    """The errors with the union member's name taken out of their location.

    pydantic names the member (``rules[0].no_output.jump_factor``); the user wrote
    ``rules[0].jump_factor``.
    """
    kinds = rule_models()
    errors: list[Any] = []
    for err in exc.errors():
        loc, kind = err["loc"], None
        if len(loc) > 1 and loc[1] in kinds:
            loc, kind = (loc[0], *loc[2:]), str(loc[1])
        item = {"type": err["type"], "loc": loc, "input": err["input"]}
        if "ctx" in err:
            item["ctx"] = err["ctx"]
        if err["type"] == "extra_forbidden" and kind is not None and len(loc) == 2:
            owners = sorted(k for k, m in kinds.items() if loc[1] in m.model_fields)
            if owners:  # a threshold of another kind: say whose
                msg = f"{loc[1]} is not a threshold of {kind} (it is one of {', '.join(owners)})"
                item["type"] = PydanticCustomError("extra_forbidden", msg)
        errors.append(item)
    return ValidationError.from_exception_data(exc.title, errors)


class WebhookNotifier(Section):
    """POST a JSON document per alert event, retrying with exponential back-off."""

    type: Literal["webhook"]
    #: names the notifier for contacts and its deliveries (default "<type>-<index>")
    id: Identifier | None = None
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
    #: names the notifier for contacts and its deliveries (default "<type>-<index>")
    id: Identifier | None = None
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
    #: names the notifier for contacts and its deliveries (default "<type>-<index>")
    id: Identifier | None = None
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


def _robot_base_url(v: str) -> str:
    """A robot's base URL: http(s), no credentials, no query (the key goes in from the env)."""
    if not v.startswith(("http://", "https://")):
        raise ValueError(f"base_url {v!r} must start with http:// or https://")
    if "@" in v.split("//", 1)[1].split("/", 1)[0] or "?" in v or "#" in v:
        raise ValueError(
            f"base_url {v!r} must be the bare endpoint: no credentials, query or fragment "
            "(the key or token is read from the environment)"
        )
    return v


class RobotBase(Section):
    """What both chat robots take: message type, @-mentions, timeouts and retries."""

    #: markdown (headline and one line per fact) or plain text
    msgtype: Literal["markdown", "text"] = "markdown"
    #: mobile numbers to @-mention in the group (the caretaker's phone)
    mention_mobiles: list[Annotated[str, Field(pattern=r"^\+?[0-9]{5,20}$")]] = Field(
        default_factory=list
    )
    timeout_s: float = Field(default=5, gt=0)
    #: attempts after the first when the network or the server fails (not errcode != 0)
    retries: int = Field(default=2, ge=0, le=20)
    backoff_s: float = Field(default=0.5, gt=0, le=60)


class WeComNotifier(RobotBase):
    """A WeCom (企业微信) group robot: POST JSON to base_url?key=<value of key_env>."""

    type: Literal["wecom"]
    #: names the notifier for contacts and its deliveries (default "<type>-<index>")
    id: Identifier | None = None
    #: the robot's key (the key= of its webhook address), from the environment
    key_env: EnvName
    base_url: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        return _robot_base_url(v)


class DingTalkNotifier(RobotBase):
    """A DingTalk (钉钉) custom robot: POST JSON to base_url?access_token=..., signed
    (timestamp + sign) when secret_env is given (the robot's 加签 security setting)."""

    type: Literal["dingtalk"]
    #: names the notifier for contacts and its deliveries (default "<type>-<index>")
    id: Identifier | None = None
    #: the robot's access_token, from the environment
    token_env: EnvName
    #: the robot's signing secret (SEC...), from the environment
    secret_env: EnvName | None = None
    base_url: str = "https://oapi.dingtalk.com/robot/send"

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        return _robot_base_url(v)


class CountyNotifier(Section):
    """On a gateway: forward every alert event to the county over MQTT (QoS 1, retried
    until the broker acknowledges), on pvledger/gateway/<gateway>/alerts/events."""

    type: Literal["county"]
    #: names the notifier for contacts and its deliveries (default "<type>-<index>")
    id: Identifier | None = None
    #: the broker of the mqtt: section unless given here
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    timeout_s: float = Field(default=5, gt=0)


Notifier = Annotated[
    WebhookNotifier
    | MqttNotifier
    | EmailNotifier
    | WeComNotifier
    | DingTalkNotifier
    | CountyNotifier,
    Field(discriminator="type"),
]

_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class QuietHours(Section):
    """A site-local window (may cross midnight) when non-urgent messages are held."""

    start: Annotated[str, Field(pattern=_HHMM)]
    end: Annotated[str, Field(pattern=_HHMM)]

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet_hours start and end are equal: give a window, or none")
        return self


class Contact(Section):
    """A person or group told about alerts of some villages and kinds, on its channels.

    Contacts at level 0 are told at once; level n when an alert is still not
    acknowledged n x alerts.escalate_after_s after it fired (or when a work order
    escalates to level n).
    """

    id: Identifier
    name: str = Field(min_length=1)
    #: notifier names (their id, or "<type>-<index>" in alerts.notify)
    channels: list[str] = Field(min_length=1)
    #: None = every village
    villages: list[Identifier] | None = None
    #: alert (or work order) kinds; None = every kind
    kinds: list[str] | None = None
    level: int = Field(default=0, ge=0, le=10)
    quiet_hours: QuietHours | None = None
    #: one digest a local day of the open alerts, at this local hour
    digest_hour: int | None = Field(default=None, ge=0, le=23)


class Alerts(Section):
    """Rules, notifiers, language and the re-notification period."""

    rules: list[RuleBase] = Field(default_factory=list)
    notify: list[Notifier] = Field(default_factory=list)
    #: who is told what (routing by village and kind, escalation, quiet hours, digest);
    #: a notifier no contact names gets every event
    contacts: list[Contact] = Field(default_factory=list)
    #: an unacknowledged alert goes to the next contact level after this long [s]
    escalate_after_s: float = Field(default=3600, gt=0)
    #: kinds told even in a contact's quiet hours
    urgent_kinds: list[str] = Field(default_factory=lambda: ["no_output", "village_outage"])
    #: language of the messages; unset: the site's (site.language)
    language: Literal["zh", "en"] = "zh"
    #: remind about firing alerts nobody acknowledged, this often [s]
    renotify_s: float = Field(default=6 * 3600, gt=0)
    #: evaluate the rules this often (simulated seconds under an accelerated clock) [s]
    evaluate_every_s: float = Field(default=300, gt=0)
    #: alert lifecycle and history (SQLite), relative to config.yaml
    db_path: str = "data/alerts.db"

    @field_validator("rules", mode="wrap")
    @classmethod
    def _rules_by_kind(cls, v: Any, handler: ValidatorFunctionWrapHandler) -> list[RuleBase]:
        # each rule through its kind's model; the registry is imported only here
        if isinstance(v, list) and v and not all(isinstance(r, RuleBase) for r in v):
            try:
                v = _rules_adapter().validate_python(v)
            except ValidationError as exc:
                raise _without_kind_tag(exc) from None
        return handler(v)

    @model_validator(mode="after")
    def _contacts_name_notifiers(self) -> Alerts:
        names = notifier_names(self.notify)
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"notifier names {dup} are used twice; give each its own id")
        ids = [c.id for c in self.contacts]
        if len(set(ids)) != len(ids):
            raise ValueError(f"contact ids {sorted({i for i in ids if ids.count(i) > 1})} repeat")
        for c in self.contacts:
            unknown = [ch for ch in c.channels if ch not in names]
            if unknown:
                raise ValueError(
                    f"contact {c.id}: channels {unknown} name no notifier; "
                    f"the notifiers are {names or 'none (add them under alerts.notify)'}"
                )
            if any(self.notify[names.index(ch)].type == "county" for ch in c.channels):
                raise ValueError(f"contact {c.id}: a county forwarder is not a person's channel")
        return self

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


def notifier_names(notify: list[Any]) -> list[str]:
    """The name of each notifier: its id, else "<type>-<index>" (keys its deliveries)."""
    return [n.id or f"{n.type}-{i}" for i, n in enumerate(notify)]
