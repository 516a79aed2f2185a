"""When a secret falls due. Pure: the caller passes the time and the randomness."""

from __future__ import annotations

import hashlib
import zoneinfo
from datetime import datetime, timedelta
from enum import StrEnum

from apscheduler.triggers.cron import CronTrigger

from rotator.config import WEEKDAYS, RetryPolicy, Schedule, SecretConfig, Window
from rotator.generators import RandomSource
from rotator.store import ScheduleState

__all__ = [
    "Trigger",
    "engine_jitter",
    "in_window",
    "next_due",
    "next_fire",
    "plan_first_run",
    "retry_delay",
    "window_open_at",
]


class Trigger(StrEnum):
    """Why a rotation runs."""

    SCHEDULE = "schedule"
    INITIAL = "initial"
    CATCHUP = "catchup"
    MANUAL = "manual"


def next_fire(schedule: Schedule, after: datetime) -> datetime:
    """The schedule's next time strictly after `after`, without jitter or window."""
    if schedule.every is not None:
        return after + schedule.every
    if schedule.cron is None:
        raise ValueError("a schedule needs every or cron")
    trigger = CronTrigger.from_crontab(schedule.cron, timezone=zoneinfo.ZoneInfo(schedule.timezone))
    fire: datetime | None = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
    if fire is None:  # a cron expression always has a next time; be explicit anyway
        raise ValueError(f"cron {schedule.cron!r} has no time after {after.isoformat()}")
    return fire.astimezone(after.tzinfo)


def _openings(window: Window, moment: datetime) -> list[tuple[datetime, datetime]]:
    """The window's openings around `moment`: from the day before to eight days on."""
    zone = zoneinfo.ZoneInfo(window.timezone)
    local = moment.astimezone(zone)
    length = datetime.combine(local.date(), window.end) - datetime.combine(
        local.date(), window.start
    )
    if length <= timedelta(0):
        length += timedelta(days=1)  # crosses midnight
    openings = []
    for offset in range(-1, 9):
        day = local.date() + timedelta(days=offset)
        if window.weekdays is not None and WEEKDAYS[day.weekday()] not in window.weekdays:
            continue
        start = datetime.combine(day, window.start, tzinfo=zone)
        openings.append((start, start + length))
    return openings


def window_open_at(window: Window, moment: datetime) -> tuple[datetime, datetime]:
    """The first time at or after `moment` inside `window`, and when that opening closes."""
    for start, end in _openings(window, moment):
        if start <= moment < end:
            return moment, end.astimezone(moment.tzinfo)
        if start > moment:
            return start.astimezone(moment.tzinfo), end.astimezone(moment.tzinfo)
    raise ValueError("the window has no opening within eight days")  # weekdays is never empty


def in_window(window: Window | None, moment: datetime) -> bool:
    return window is None or window_open_at(window, moment)[0] == moment


def next_due(secret: SecretConfig, rotated_at: datetime, random: RandomSource) -> datetime:
    """When `secret`, rotated at `rotated_at`, falls due.

    The schedule's next time, moved to the next opening of the window if it
    falls outside it, plus a random jitter (whole seconds, at most `jitter`,
    and never past the end of the window's opening). Whole seconds, as
    stored in Vault, so that what is planned is what is read back.
    """
    due = next_fire(secret.schedule, rotated_at.replace(microsecond=0))
    room = secret.jitter
    if secret.window is not None:
        due, closes = window_open_at(secret.window, due)
        room = min(room, closes - due - timedelta(seconds=1))
    jitter_seconds = int(room.total_seconds())
    if jitter_seconds > 0:
        due += timedelta(seconds=random.randbelow(jitter_seconds + 1))
    return due.replace(microsecond=0)


class _SeededJitter:
    """Deterministic jitter for engines that keep no due time of their own.

    A transit key stores only when each version was made; the due time is
    recomputed from it, so the jitter must come out the same every time.
    """

    def __init__(self, seed: str) -> None:
        self._seed = hashlib.sha256(seed.encode()).digest()

    def token_bytes(self, n: int) -> bytes:
        return (self._seed * (n // len(self._seed) + 1))[:n]

    def randbelow(self, n: int) -> int:
        return int.from_bytes(self._seed, "big") % n


def engine_jitter(secret: SecretConfig, version: int) -> RandomSource:
    """The jitter source for `secret` at `version`: the same answer on every replica."""
    return _SeededJitter(f"{secret.name}:{secret.mount}/{secret.path}:{version}")


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


def plan_first_run(
    state: ScheduleState | None, now: datetime, secret: SecretConfig | None = None
) -> tuple[datetime, Trigger]:
    """When a secret should first run after start-up, and why. Pure.

    A secret that does not exist yet (or is not managed yet) runs now
    (``initial``); one whose due time has passed runs now, or when its
    window next opens (``catchup``); any other runs at its due time
    (``schedule``).
    """
    if state is None or not state.managed or state.next_rotation_at is None:
        return now, Trigger.INITIAL
    if state.next_rotation_at <= now:
        if secret is not None and secret.window is not None:
            return window_open_at(secret.window, now)[0], Trigger.CATCHUP
        return now, Trigger.CATCHUP
    return state.next_rotation_at, Trigger.SCHEDULE
