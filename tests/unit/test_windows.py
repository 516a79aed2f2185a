"""Rotation windows, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rotator.config import Window
from rotator.errors import ConfigError
from rotator.schedule import Trigger, in_window, next_due, plan_first_run, window_open_at
from rotator.store import ScheduleState
from tests.support.configs import one_secret
from tests.support.seeded import SeededRandom


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def secret(**fields: Any) -> Any:
    return one_secret(**fields)


NIGHT = Window(start="02:00", end="04:00", timezone="UTC")


def test_inside_a_window_the_moment_itself_is_returned() -> None:
    moment = utc(2026, 6, 1, 3, 15)
    assert window_open_at(NIGHT, moment) == (moment, utc(2026, 6, 1, 4, 0))
    assert in_window(NIGHT, moment)


def test_before_and_after_a_window_its_next_start_is_returned() -> None:
    assert window_open_at(NIGHT, utc(2026, 6, 1, 1, 0))[0] == utc(2026, 6, 1, 2, 0)
    assert window_open_at(NIGHT, utc(2026, 6, 1, 4, 0))[0] == utc(2026, 6, 2, 2, 0)
    assert not in_window(NIGHT, utc(2026, 6, 1, 12, 0))


def test_a_window_can_cross_midnight() -> None:
    late = Window(start="22:00", end="02:00")
    assert in_window(late, utc(2026, 6, 1, 23, 30))
    assert in_window(late, utc(2026, 6, 2, 1, 59))
    assert window_open_at(late, utc(2026, 6, 2, 2, 0))[0] == utc(2026, 6, 2, 22, 0)


def test_weekdays_limit_the_days_a_window_opens() -> None:
    weekend = Window(start="02:00", end="04:00", weekdays=("sat", "sun"))
    # 2026-06-01 is a Monday: the next opening is Saturday the 6th.
    assert window_open_at(weekend, utc(2026, 6, 1, 3, 0))[0] == utc(2026, 6, 6, 2, 0)
    assert in_window(weekend, utc(2026, 6, 7, 3, 0))


def test_window_time_zones_follow_daylight_saving() -> None:
    berlin = Window(start="02:30", end="04:00", timezone="Europe/Berlin")
    # On 2026-03-29 02:30 does not exist in Berlin; zoneinfo reads it as 03:30 CEST (01:30 UTC).
    opened = window_open_at(berlin, utc(2026, 3, 28, 12, 0))[0]
    assert opened == utc(2026, 3, 29, 1, 30)
    summer = window_open_at(berlin, utc(2026, 7, 1, 12, 0))[0]
    assert summer == utc(2026, 7, 2, 0, 30)  # 02:30 CEST


def test_next_due_waits_for_the_window_and_keeps_jitter_inside_it() -> None:
    s = secret(window={"start": "02:00", "end": "02:10"}, jitter="1h")
    source = SeededRandom(3)
    for _ in range(200):
        due = next_due(s, utc(2026, 6, 1, 9, 0), source)
        assert utc(2026, 6, 2, 2, 0) <= due < utc(2026, 6, 2, 2, 10)


def test_yaml_sexagesimal_times_are_read_as_times_of_day() -> None:
    s = secret(window={"start": 120, "end": 240})  # what YAML 1.1 makes of 02:00 and 04:00
    assert s.window.start.hour == 2
    assert s.window.end.hour == 4


def test_catch_up_waits_for_the_window() -> None:
    s = secret(window={"start": "02:00", "end": "04:00"})
    overdue = ScheduleState(
        version=1, managed=True, rotated_at=utc(2026, 5, 1), next_rotation_at=utc(2026, 5, 2)
    )
    now = utc(2026, 6, 1, 12, 0)
    assert plan_first_run(overdue, now, s) == (utc(2026, 6, 2, 2, 0), Trigger.CATCHUP)
    assert plan_first_run(None, now, s) == (now, Trigger.INITIAL)  # creation does not wait


def test_window_config_errors_name_the_key() -> None:
    for window, message in [
        ({"start": "25:00", "end": "02:00"}, "secrets[s].window.start: expected a time of day"),
        ({"start": "02:00", "end": "02:00"}, "the window would be empty"),
        ({"start": "02:00", "end": "03:00", "weekdays": ["funday"]}, "secrets[s].window.weekdays"),
    ]:
        with pytest.raises(ConfigError) as info:
            secret(window=window)
        assert message in str(info.value)
