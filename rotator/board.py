"""What the daemon knows about each secret: the last state read, the last outcome, the plan.

The board is fed by the daemon (state read from Vault, rotation results,
planned job times) and read by the metrics collector. It holds no value.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime

from rotator.rotation import Outcome, RotationResult
from rotator.store import ScheduleState

__all__ = ["SecretStatus", "StatusBoard"]


@dataclass(frozen=True)
class SecretStatus:
    name: str
    rotated_at: datetime | None = None
    next_rotation_at: datetime | None = None
    version: int | None = None
    planned_at: datetime | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0


class StatusBoard:
    """Thread-safe map of secret name to `SecretStatus`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, SecretStatus] = {}

    def _update(self, name: str, **fields: object) -> None:
        with self._lock:
            current = self._items.get(name) or SecretStatus(name)
            self._items[name] = replace(current, **fields)  # type: ignore[arg-type]

    def observe_state(self, name: str, state: ScheduleState | None) -> None:
        if state is None:
            self._update(name, rotated_at=None, next_rotation_at=None, version=None)
        else:
            self._update(
                name,
                rotated_at=state.rotated_at,
                next_rotation_at=state.next_rotation_at,
                version=state.version,
            )

    def observe_result(self, result: RotationResult) -> None:
        with self._lock:
            current = self._items.get(result.secret) or SecretStatus(result.secret)
            if result.outcome is Outcome.SUCCEEDED:
                current = replace(
                    current,
                    rotated_at=result.rotated_at,
                    next_rotation_at=result.next_rotation_at,
                    version=result.version,
                    last_error=None,
                    consecutive_failures=0,
                )
            elif result.outcome is Outcome.FAILED:
                current = replace(
                    current,
                    last_error=type(result.error).__name__ if result.error else "error",
                    consecutive_failures=current.consecutive_failures + 1,
                )
            elif result.next_rotation_at is not None:
                current = replace(current, next_rotation_at=result.next_rotation_at)
            self._items[result.secret] = replace(current, last_outcome=str(result.outcome))

    def planned(self, name: str, at: datetime | None) -> None:
        self._update(name, planned_at=at)

    def remove(self, name: str) -> None:
        with self._lock:
            self._items.pop(name, None)

    def snapshot(self) -> list[SecretStatus]:
        with self._lock:
            return list(self._items.values())
