from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rotator.pending import PendingRuns, Planned
from rotator.schedule import Trigger

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def plan(minutes: int) -> Planned:
    return Planned(T0 + timedelta(minutes=minutes), Trigger.SCHEDULE)


def test_runs_come_out_in_time_order_up_to_the_limit() -> None:
    pending = PendingRuns()
    for name, minutes in [("c", 30), ("a", 10), ("b", 20), ("d", 40)]:
        pending.put(name, plan(minutes))
    taken = pending.pop_until(T0 + timedelta(minutes=25))
    assert [name for name, _ in taken] == ["a", "b"]
    assert len(pending) == 2
    assert set(pending.planned()) == {"c", "d"}


def test_a_new_plan_replaces_the_old_and_discard_forgets() -> None:
    pending = PendingRuns()
    pending.put("a", plan(10))
    pending.put("a", plan(50))  # replanned later
    pending.put("b", plan(15))
    pending.discard("b")
    assert pending.pop_until(T0 + timedelta(minutes=30)) == []
    assert [(n, p.run_at) for n, p in pending.pop_until(T0 + timedelta(hours=1))] == [
        ("a", T0 + timedelta(minutes=50))
    ]
    assert len(pending) == 0


def test_the_heap_stays_bounded_under_many_replans() -> None:
    pending = PendingRuns()
    for round_ in range(50):
        for index in range(200):
            pending.put(f"s{index}", plan(round_ * 10 + index % 7))
    assert len(pending) == 200
    assert len(pending._heap) <= 2 * 200 + 1024
    taken = pending.pop_until(T0 + timedelta(days=1))
    assert len(taken) == 200
    assert all(p.run_at >= T0 + timedelta(minutes=490) for _, p in taken)
