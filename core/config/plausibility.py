"""``storage.limits``: the limits of the plausibility gate (core/plausibility.py), as data.

Every reading, from every source, passes the gate before it is stored. The
defaults suit the programme's stations (3 kW rooftops, 100 kW village arrays);
each limit is scaled by the station's ``capacity_kw`` where that makes sense.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from core.config.types import Section


class Limits(Section):
    """What a station can physically report; outside it a value is flagged ``implausible``."""

    #: power_w / dc_power_w at most this × nameplate (capacity_kw) [1]
    power_max_ratio: float = Field(default=1.5, gt=0, le=100)
    #: power_w / dc_power_w at least −this × nameplate: standby draw, a meter's import [1]
    power_margin_ratio: float = Field(default=0.05, ge=0, le=10)
    #: energy counters rise at most nameplate × this × the time since their last good value [1]
    counter_rate_ratio: float = Field(default=1.5, gt=0, le=100)
    #: ... plus this much, for counters with a coarse resolution (0.1 or 1 kWh) [Wh]
    counter_step_wh: int = Field(default=1000, ge=0)
    #: a counter that jumped is believed again after this many readings in a row that
    #: rise plausibly from the new level (an inverter replaced, a counter preset)
    counter_rebase_readings: int = Field(default=3, ge=1, le=1000)
    #: temperature_c within [min, max] [°C]
    temperature_min_c: float = -60.0
    temperature_max_c: float = 150.0
    #: a reading stamped more than this ahead of the service clock is refused [s]
    future_s: float = Field(default=300.0, ge=0, le=86_400)
    #: a reading older than this (logger memory, backfill) is refused [d]
    backfill_horizon_days: float = Field(default=400.0, gt=0, le=36_500)
    #: /healthz answers 503 while a queue (MQTT, outbox) has held data without
    #: progress for longer than this [s]
    stuck_after_s: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Limits:
        if self.temperature_min_c >= self.temperature_max_c:
            raise ValueError(
                f"temperature_min_c {self.temperature_min_c:g} must be below "
                f"temperature_max_c {self.temperature_max_c:g}"
            )
        return self
