from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rotator.config import RetryPolicy, Schedule
from rotator.schedule import Trigger, next_due, next_fire, plan_first_run, retry_delay
from rotator.store import ScheduleState
from tests.support.configs import one_secret
from tests.support.seeded import SeededRandom as Seeded

T0 = datetime(2026, 3, 7, 12, 0, 30, 123456, tzinfo=UTC)


def secret(**fields: Any) -> Any:
    return one_secret(**fields)


def test_every_adds_the_period_to_whole_seconds() -> None:
    due = next_due(secret(), T0, Seeded(1))
    assert due == datetime(2026, 3, 7, 13, 0, 30, tzinfo=UTC)


def test_cron_takes_the_next_time_in_its_time_zone() -> None:
    schedule = Schedule(cron="0 3 * * *", timezone="Europe/Berlin")
    # 2026-03-29: Berlin moves to summer time at 02:00; 03:00 local is 01:00 UTC.
    fire = next_fire(schedule, datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert fire == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    # Exactly at a fire time, the next one is a day later.
    assert next_fire(schedule, fire) == datetime(2026, 3, 30, 1, 0, tzinfo=UTC)


def test_jitter_stays_within_its_bound_and_spreads() -> None:
    s = secret(jitter="10m")
    source = Seeded(7)
    dues = {next_due(s, T0, source) for _ in range(200)}
    base = datetime(2026, 3, 7, 13, 0, 30, tzinfo=UTC)
    assert all(base <= d <= base + timedelta(minutes=10) for d in dues)
    assert len(dues) > 100


def test_retry_delay_grows_and_is_capped() -> None:
    policy = RetryPolicy(
        attempts=10, backoff=timedelta(seconds=2), max_backoff=timedelta(seconds=30)
    )
    source = Seeded(3)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 30), (9, 30)]:
        for _ in range(50):
            delay = retry_delay(policy, attempt, source).total_seconds()
            assert ceiling / 2 <= delay <= ceiling


def test_first_run_after_start() -> None:
    now = T0
    assert plan_first_run(None, now) == (now, Trigger.INITIAL)
    unmanaged = ScheduleState(version=3, managed=False, rotated_at=None, next_rotation_at=None)
    assert plan_first_run(unmanaged, now) == (now, Trigger.INITIAL)
    overdue = ScheduleState(
        version=3,
        managed=True,
        rotated_at=now - timedelta(days=2),
        next_rotation_at=now - timedelta(days=1),
    )
    assert plan_first_run(overdue, now) == (now, Trigger.CATCHUP)
    later = now + timedelta(hours=5)
    fresh = ScheduleState(version=3, managed=True, rotated_at=now, next_rotation_at=later)
    assert plan_first_run(fresh, now) == (later, Trigger.SCHEDULE)
