"""Field types shared by the config sections, each refusing what it cannot take exactly."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ENV_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class Section(BaseModel):
    """Base of every config model: immutable, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def decimal_from_string(value: Any) -> Decimal:
    """A Decimal from a quoted string; numbers (YAML floats and ints) are refused."""
    # YAML turns 0.4143 into a binary float (0.41429999...), and even an int
    # invites "25" vs "25.00" confusion; money and rates must be written as text.
    if isinstance(value, bool) or not isinstance(value, str):
        shown = repr(value) if not isinstance(value, float) else f"{value}"
        raise ValueError(
            f"money and rates must be quoted decimal strings, got the number {shown}; "
            f'write it with quotes, e.g. "{shown}"'
        )
    try:
        d = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f'"{value}" is not a decimal number; write e.g. "0.4143"') from None
    if not d.is_finite():
        raise ValueError(f'"{value}" is not a finite decimal number')
    return d


def _non_negative(d: Decimal) -> Decimal:
    if d < 0:
        raise ValueError(f'"{d}" is negative; rates and amounts here must be >= 0')
    return d


def _percent(d: Decimal) -> Decimal:
    if not (0 <= d <= 100):
        raise ValueError(f'"{d}" is not a percentage between "0" and "100"')
    return d


def _identifier(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid id: use 1-64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )
    return value


def _env_name(value: str) -> str:
    if not _ENV_RE.match(value):
        raise ValueError(
            f"{value!r} is not an environment variable name; use e.g. PVLEDGER_MQTT_PASSWORD"
        )
    return value


#: a rate or amount written as a quoted decimal string, e.g. "0.4143"
DecimalStr = Annotated[Decimal, BeforeValidator(decimal_from_string), AfterValidator(_non_negative)]
#: a percentage "0".."100" written as a quoted decimal string
PercentStr = Annotated[Decimal, BeforeValidator(decimal_from_string), AfterValidator(_percent)]
Identifier = Annotated[str, AfterValidator(_identifier)]
EnvName = Annotated[str, AfterValidator(_env_name)]

#: keys that would hold a secret; only their *_env form is accepted
SECRET_KEYS = frozenset({"password", "token", "secret", "api_key", "apikey", "passwd"})
