"""The deadline clock at set dates and hours: nights, weekends and holidays add nothing
when working hours are configured; around the clock otherwise."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from alerts.workorders.deadline import due_ms, level_due, working_ms
from core.config.om import WorkingHours

TZ = ZoneInfo("Asia/Shanghai")
H = 3_600_000
WH = WorkingHours(start="08:00", end="18:00", days=[1, 2, 3, 4, 5], holidays=[dt.date(2018, 10, 1)])


def at(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp() * 1000)


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        ("2018-07-10T09:00", "2018-07-10T11:30", 2.5),  # inside one working day
        ("2018-07-10T17:00", "2018-07-11T09:00", 2.0),  # 1 h before, 1 h after the night
        ("2018-07-13T16:00", "2018-07-16T10:00", 4.0),  # Friday 2 h + Monday 2 h
        ("2018-07-14T09:00", "2018-07-15T17:00", 0.0),  # a whole weekend
        ("2018-09-28T17:00", "2018-10-02T08:30", 1.5),  # Fri 1 h, weekend, holiday, Tue 0.5 h
        ("2018-07-10T20:00", "2018-07-10T22:00", 0.0),  # evening
    ],
)
def test_working_time(start, end, hours):
    assert working_ms(at(start), at(end), WH, TZ) == round(hours * H)


def test_due_is_the_inverse_of_working_time():
    # 48 h of working time from Friday 16:00: Fri 2 + Mon..Thu 40 + Fri 6 -> Fri 14:00
    start = at("2018-07-13T16:00")
    due = due_ms(start, 48, WH, TZ)
    assert due == at("2018-07-20T14:00")
    assert working_ms(start, due, WH, TZ) == 48 * H
    # opened on a Saturday night: the clock starts on Monday 08:00
    assert due_ms(at("2018-07-14T23:00"), 2, WH, TZ) == at("2018-07-16T10:00")


def test_without_working_hours_every_hour_counts():
    start = at("2018-07-14T23:00")
    assert due_ms(start, 2, None, TZ) == start + 2 * H
    assert working_ms(start, start + 5 * H, None, TZ) == 5 * H


def test_level_steps_after_the_deadline():
    assert level_due(47 * H, 48, 24, 3) == 0
    assert level_due(48 * H, 48, 24, 3) == 1
    assert level_due(71 * H, 48, 24, 3) == 1
    assert level_due(72 * H, 48, 24, 3) == 2
    assert level_due(500 * H, 48, 24, 3) == 3  # never above the highest level configured
