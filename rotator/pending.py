"""Runs planned beyond the scheduler's horizon.

APScheduler keeps one job object per planned run; a hundred thousand of
them cost memory and make every addition slower. The daemon gives
APScheduler only the runs due within its horizon (a few minutes) and keeps
the others here: a heap of (time, sequence, name) with lazy deletion, and a
map from each name to its one live plan. Pure: no clock, no threads.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from datetime import datetime

from rotator.schedule import Trigger

__all__ = ["PendingRuns", "Planned"]


@dataclass(frozen=True)
class Planned:
    """One planned run of a secret's rotation."""

    run_at: datetime
    trigger: Trigger
    attempt: int = 1
    rotation_id: str | None = None


class PendingRuns:
    """At most one planned run per secret, taken out in time order."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, str]] = []
        self._live: dict[str, tuple[int, Planned]] = {}
        self._sequence = itertools.count()

    def __len__(self) -> int:
        return len(self._live)

    def put(self, name: str, planned: Planned) -> None:
        """Plan `name` (replacing any plan it had)."""
        number = next(self._sequence)
        self._live[name] = (number, planned)
        heapq.heappush(self._heap, (planned.run_at, number, name))
        if len(self._heap) > 2 * len(self._live) + 1024:
            self._compact()

    def discard(self, name: str) -> None:
        self._live.pop(name, None)

    def pop_until(self, limit: datetime) -> list[tuple[str, Planned]]:
        """Take out every plan due at or before `limit`, earliest first."""
        taken = []
        while self._heap and self._heap[0][0] <= limit:
            _, number, name = heapq.heappop(self._heap)
            live = self._live.get(name)
            if live is not None and live[0] == number:
                del self._live[name]
                taken.append((name, live[1]))
        return taken

    def planned(self) -> dict[str, Planned]:
        return {name: planned for name, (_, planned) in self._live.items()}

    def _compact(self) -> None:
        self._heap = [
            (planned.run_at, number, name) for name, (number, planned) in self._live.items()
        ]
        heapq.heapify(self._heap)
