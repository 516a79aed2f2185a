"""When a secret falls due next. Pure: the caller passes the time and the randomness."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from rotator.config import RetryPolicy, Schedule, SecretConfig
from rotator.generators import RandomSource

__all__ = ["next_due", "next_fire", "retry_delay"]


def next_fire(schedule: Schedule, after: datetime) -> datetime:
    """The schedule's next time strictly after `after`, without jitter."""
    if schedule.every is not None:
        return after + schedule.every
    if schedule.cron is None:
        raise ValueError("a schedule needs every or cron")
    trigger = CronTrigger.from_crontab(schedule.cron, timezone=zoneinfo.ZoneInfo(schedule.timezone))
    fire: datetime | None = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
    if fire is None:  # a cron expression always has a next time; be explicit anyway
        raise ValueError(f"cron {schedule.cron!r} has no time after {after.isoformat()}")
    return fire.astimezone(after.tzinfo)


def next_due(secret: SecretConfig, rotated_at: datetime, random: RandomSource) -> datetime:
    """When `secret`, rotated at `rotated_at`, falls due: its schedule plus jitter.

    Whole seconds, as stored in Vault, so that what is planned is what is read back.
    """
    due = next_fire(secret.schedule, rotated_at.replace(microsecond=0))
    jitter_seconds = int(secret.jitter.total_seconds())
    if jitter_seconds > 0:
        due += timedelta(seconds=random.randbelow(jitter_seconds + 1))
    return due.replace(microsecond=0)


def retry_delay(policy: RetryPolicy, attempt: int, random: RandomSource) -> timedelta:
    """How long to wait before attempt ``attempt + 1``, after `attempt` failed.

    Exponential (``backoff * 2**(attempt-1)``, capped at ``max_backoff``)
    with "equal jitter": half the delay fixed, half random, so that replicas
    and secrets that failed together do not retry together.
    """
    ceiling = min(policy.max_backoff, policy.backoff * (2 ** min(attempt - 1, 32)))
    millis = int(ceiling.total_seconds() * 1000)
    half = millis // 2
    return timedelta(milliseconds=half + random.randbelow(millis - half + 1))
