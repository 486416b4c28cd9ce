"""The clock the monitoring pages read "now" from: the wall clock, or a simulated one.

`pvledger serve --sim-clock FILE` shares the simulator's clock anchor (core/clock.py), as
`collect` and `alerts watch` do, so a demo or a test sees the fleet at its simulated
hour, never at the wall clock's.
"""

from __future__ import annotations

from pathlib import Path

from core.clock import Clock, ScaledClock

_clock: list[Clock] = [Clock()]


def set_clock(clock: Clock) -> None:
    """Use clock for every page of this process."""
    _clock[:] = [clock]


def load(path: Path) -> Clock:
    """The simulator's shared clock from its anchor file (written by ScaledClock.save)."""
    return ScaledClock.load(path)


def now_ms() -> int:
    """Now on the service's clock, UTC epoch milliseconds."""
    return _clock[0].now_ms()
