"""Prometheus metrics: counters the daemon moves, and per-secret gauges read at scrape time.

Labels carry secret names and outcomes, never a value. Per-secret gauges
are computed from the `StatusBoard` when scraped, so a hundred thousand
secrets cost no background work.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from rotator.board import StatusBoard
from rotator.clock import SYSTEM_CLOCK, Clock
from rotator.rotation import Outcome, RotationResult

__all__ = ["OVERDUE_GRACE_SECONDS", "Metrics"]

#: A secret counts as overdue this long after its due time (catch-up is staggered).
OVERDUE_GRACE_SECONDS = 60.0


class _SecretCollector(Collector):
    def __init__(self, board: StatusBoard, clock: Clock) -> None:
        self._board = board
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self._clock.now().timestamp()
        last = GaugeMetricFamily(
            "rotator_secret_last_rotation_timestamp_seconds",
            "When the secret was last rotated (from Vault), as a Unix time.",
            labels=["secret"],
        )
        since = GaugeMetricFamily(
            "rotator_secret_seconds_since_last_rotation",
            "Seconds since the secret was last rotated.",
            labels=["secret"],
        )
        due = GaugeMetricFamily(
            "rotator_secret_next_rotation_timestamp_seconds",
            "When the secret is next due, as a Unix time.",
            labels=["secret"],
        )
        overdue = GaugeMetricFamily(
            "rotator_secret_overdue_seconds",
            "Seconds the secret is past its due time (0 when not due yet).",
            labels=["secret"],
        )
        failures = GaugeMetricFamily(
            "rotator_secret_consecutive_failures",
            "Rotation failures since the secret's last success.",
            labels=["secret"],
        )
        count_overdue = 0
        statuses = self._board.snapshot()
        for status in statuses:
            if status.rotated_at is not None:
                last.add_metric([status.name], status.rotated_at.timestamp())
                since.add_metric([status.name], max(0.0, now - status.rotated_at.timestamp()))
            if status.next_rotation_at is not None:
                due_at = status.next_rotation_at.timestamp()
                due.add_metric([status.name], due_at)
                late = max(0.0, now - due_at)
                overdue.add_metric([status.name], late)
                if late > OVERDUE_GRACE_SECONDS:
                    count_overdue += 1
            failures.add_metric([status.name], status.consecutive_failures)
        yield last
        yield since
        yield due
        yield overdue
        yield failures
        yield GaugeMetricFamily(
            "rotator_secrets", "Secrets in the loaded config.", value=len(statuses)
        )
        yield GaugeMetricFamily(
            "rotator_secrets_overdue",
            f"Secrets more than {OVERDUE_GRACE_SECONDS:.0f}s past their due time.",
            value=count_overdue,
        )


class Metrics:
    """The daemon's metrics, in a registry of its own."""

    def __init__(self, board: StatusBoard, clock: Clock = SYSTEM_CLOCK) -> None:
        self.registry = CollectorRegistry()
        self.rotations = Counter(
            "rotator_rotations",
            "Rotation attempts by secret and outcome (succeeded, skipped, failed).",
            ["secret", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "rotator_rotation_duration_seconds",
            "How long a rotation took, from the first read to the last write.",
            ["outcome"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=self.registry,
        )
        self.vault_up = Gauge(
            "rotator_vault_up",
            "1 when Vault is reachable, unsealed and accepts the token; else 0.",
            registry=self.registry,
        )
        self.token_ttl = Gauge(
            "rotator_vault_token_ttl_seconds",
            "Time to live of rotator's Vault token (0 for a token that never expires).",
            registry=self.registry,
        )
        self.registry.register(_SecretCollector(board, clock))

    def observe(self, result: RotationResult) -> None:
        self.rotations.labels(result.secret, str(result.outcome)).inc()
        if result.outcome in (Outcome.SUCCEEDED, Outcome.FAILED):
            self.duration.labels(str(result.outcome)).observe(result.duration_ms / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)
