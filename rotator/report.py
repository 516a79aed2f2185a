"""What ``status``, ``plan`` and ``history`` show: rows built from state, and a plain table.

Pure: the CLI reads Vault and hands the state in. Nothing here holds a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rotator.clock import format_time
from rotator.config import SecretConfig
from rotator.durations import format_duration
from rotator.errors import RotatorError
from rotator.schedule import plan_first_run
from rotator.store import ScheduleState, VersionInfo

__all__ = [
    "PlanRow",
    "StatusRow",
    "describe_schedule",
    "format_table",
    "history_rows",
    "plan_row",
    "status_row",
]


def describe_schedule(secret: SecretConfig) -> str:
    schedule = secret.schedule
    if schedule.every is not None:
        text = f"every {format_duration(schedule.every)}"
    else:
        text = f"cron {schedule.cron} {schedule.timezone}"
    window = secret.window
    if window is not None:
        days = f" {','.join(window.weekdays)}" if window.weekdays else ""
        text += f", window {window.start:%H:%M}-{window.end:%H:%M} {window.timezone}{days}"
    return text


def _short(delta: timedelta) -> str:
    """Two units at most: ``3d4h``, ``12m30s``."""
    text = format_duration(timedelta(seconds=int(delta.total_seconds())))
    units = 0
    for index, char in enumerate(text):
        if char.isalpha():
            units += 1
            if units == 2:
                return text[: index + 1]
    return text


def _time(moment: datetime | None) -> str:
    return format_time(moment) if moment is not None else "-"


@dataclass(frozen=True)
class StatusRow:
    name: str
    engine: str
    mount: str
    path: str
    kind: str
    schedule: str
    rotated_at: datetime | None
    next_rotation_at: datetime | None
    version: int | None
    state: str
    age: timedelta | None

    def cells(self) -> list[str]:
        return [
            self.name,
            self.engine,
            f"{self.mount}/{self.path}",
            self.kind,
            self.schedule,
            _time(self.rotated_at),
            _short(self.age) if self.age is not None else "-",
            _time(self.next_rotation_at),
            str(self.version) if self.version is not None else "-",
            self.state,
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "engine": self.engine,
            "mount": self.mount,
            "path": self.path,
            "kind": self.kind,
            "schedule": self.schedule,
            "rotated_at": format_time(self.rotated_at) if self.rotated_at else None,
            "age_seconds": int(self.age.total_seconds()) if self.age is not None else None,
            "next_rotation_at": (
                format_time(self.next_rotation_at) if self.next_rotation_at else None
            ),
            "version": self.version,
            "state": self.state,
        }


STATUS_HEADERS = [
    "NAME",
    "ENGINE",
    "PATH",
    "KIND",
    "SCHEDULE",
    "LAST ROTATED",
    "AGE",
    "NEXT DUE",
    "VERSION",
    "STATE",
]


def status_row(
    secret: SecretConfig, state: ScheduleState | RotatorError | None, now: datetime
) -> StatusRow:
    """One secret's row. `state` is what Vault said, or the error it gave."""
    base = {
        "name": secret.name,
        "engine": secret.engine,
        "mount": secret.mount,
        "path": secret.path,
        "kind": secret.kind,
        "schedule": describe_schedule(secret),
    }
    if isinstance(state, RotatorError):
        return StatusRow(
            **base,
            rotated_at=None,
            next_rotation_at=None,
            version=None,
            state=f"error: {type(state).__name__}",
            age=None,
        )
    if state is None:
        return StatusRow(
            **base, rotated_at=None, next_rotation_at=None, version=None, state="missing", age=None
        )
    if not state.managed:
        label = "unmanaged (adopt)" if secret.adopt else "unmanaged"
        return StatusRow(
            **base,
            rotated_at=None,
            next_rotation_at=None,
            version=state.version,
            state=label,
            age=None,
        )
    due = state.next_rotation_at
    label = "ok" if due is None or due > now else "due"
    return StatusRow(
        **base,
        rotated_at=state.rotated_at,
        next_rotation_at=due,
        version=state.version,
        state=label,
        age=now - state.rotated_at if state.rotated_at is not None else None,
    )


@dataclass(frozen=True)
class PlanRow:
    name: str
    when: datetime
    trigger: str
    note: str

    def cells(self, now: datetime) -> list[str]:
        wait = self.when - now
        return [
            format_time(self.when),
            "now" if wait <= timedelta(0) else f"in {_short(wait)}",
            self.name,
            self.trigger,
            self.note,
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "at": format_time(self.when),
            "trigger": self.trigger,
            "note": self.note,
        }


PLAN_HEADERS = ["WHEN", "IN", "NAME", "TRIGGER", "NOTE"]


def plan_row(
    secret: SecretConfig, state: ScheduleState | RotatorError | None, now: datetime
) -> PlanRow:
    """When the daemon, started now, would first rotate `secret`, and why."""
    if isinstance(state, RotatorError):
        return PlanRow(secret.name, now, "schedule", f"Vault error: {type(state).__name__}")
    when, trigger = plan_first_run(state, now, secret)
    note = ""
    if state is not None and not state.managed:
        note = (
            "adopts a secret rotator did not create"
            if secret.adopt
            else ("refused: not managed by rotator (set adopt: true)")
        )
    elif state is None:
        note = "creates the secret"
    return PlanRow(secret.name, when, str(trigger), note)


HISTORY_HEADERS = ["VERSION", "CREATED", "ROTATED AT", "KID", "STATE"]


def history_rows(versions: Sequence[VersionInfo]) -> list[list[str]]:
    return [
        [str(v.version), _time(v.created_at), _time(v.rotated_at), v.kid or "-", v.state]
        for v in versions
    ]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces."""
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
