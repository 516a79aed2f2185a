"""The daemon's planning, metrics and reload against an in-memory store (no Vault)."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

import rotator.daemon as daemon_module
from rotator.audit import make_audit_logger
from rotator.board import StatusBoard
from rotator.config import AuditConfig, Config, parse_config
from rotator.daemon import Backend, Daemon
from rotator.errors import VaultUnavailable
from rotator.metrics import Metrics
from rotator.report import format_table, plan_row, status_row
from rotator.rotation import Outcome, RotationResult, Rotator
from rotator.schedule import Trigger
from rotator.store import ScheduleState
from rotator.vault.connection import VaultHealth
from tests.support.configs import FixedClock
from tests.support.memory_store import MemoryStore
from tests.support.seeded import SeededRandom

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def config(*names: str, every: str = "1h", **fields: Any) -> Config:
    return parse_config(
        {
            "vault": {"auth": {"token": "x"}},
            "server": {"listen": None},
            "secrets": [
                {
                    "name": n,
                    "path": f"p/{n}",
                    "generator": {"kind": "token"},
                    "schedule": {"every": every},
                    **fields,
                }
                for n in names
            ],
        },
        environ={},
    )


def test_metrics_count_outcomes_and_show_per_secret_gauges_without_values() -> None:
    board = StatusBoard()
    clock = FixedClock(NOW)
    metrics = Metrics(board, clock)
    done = RotationResult(
        secret="web",
        outcome=Outcome.SUCCEEDED,
        rotation_id="r",
        trigger=Trigger.SCHEDULE,
        version=3,
        rotated_at=NOW - timedelta(hours=2),
        next_rotation_at=NOW - timedelta(minutes=5),
        duration_ms=12,
    )
    failed = RotationResult(
        secret="web",
        outcome=Outcome.FAILED,
        rotation_id="s",
        trigger=Trigger.SCHEDULE,
        duration_ms=3,
    )
    for result in (done, failed, failed):
        board.observe_result(result)
        metrics.observe(result)
    text = metrics.render().decode()
    assert 'rotator_rotations_total{outcome="succeeded",secret="web"} 1.0' in text
    assert 'rotator_rotations_total{outcome="failed",secret="web"} 2.0' in text
    assert 'rotator_secret_seconds_since_last_rotation{secret="web"} 7200.0' in text
    assert 'rotator_secret_overdue_seconds{secret="web"} 300.0' in text
    assert 'rotator_secret_consecutive_failures{secret="web"} 2.0' in text
    assert "rotator_secrets_overdue 1.0" in text
    assert 'rotator_rotation_duration_seconds_count{outcome="succeeded"} 1.0' in text


def test_status_and_plan_rows() -> None:
    s = config("web").secret("web")
    fresh = ScheduleState(3, True, NOW - timedelta(minutes=30), NOW + timedelta(minutes=30))
    row = status_row(s, fresh, NOW)
    assert row.state == "ok"
    assert row.cells()[6] == "30m"
    assert status_row(s, None, NOW).state == "missing"
    late = ScheduleState(3, True, NOW - timedelta(hours=2), NOW - timedelta(hours=1))
    assert status_row(s, late, NOW).state == "due"
    assert plan_row(s, late, NOW).trigger == "catchup"
    assert plan_row(s, None, NOW).note == "creates the secret"
    foreign = ScheduleState(1, False, None, None)
    assert "adopt" in plan_row(s, foreign, NOW).note
    table = format_table(["A", "LONGER"], [["xyz", "1"], ["q", "22"]])
    assert table.splitlines() == ["A    LONGER", "xyz  1", "q    22"]


def test_rollback_restores_an_older_key_and_keeps_the_replaced_one() -> None:
    store = MemoryStore()
    clock = FixedClock(NOW)
    stream = io.StringIO()
    audit, _ = make_audit_logger(AuditConfig(format="json"), instance="t", stream=stream)
    rotator = Rotator(store, audit, clock=clock, random=SeededRandom(4))
    s = config("web", keep_previous=2).secret("web")
    for _ in range(3):
        rotator.rotate(s, trigger=Trigger.MANUAL, force=True)
    first, third = store.versions["p/web"][0], store.versions["p/web"][2]
    assert first is not None
    assert third is not None
    result = rotator.rollback(s, to_version=1)
    assert result.outcome is Outcome.SUCCEEDED
    assert result.version == 4
    restored = store.versions["p/web"][3]
    assert restored is not None
    assert restored.current == first.current
    assert restored.previous == third.current
    assert len(restored.keyring) == 3
    refused = rotator.rollback(s, to_version=4)
    assert refused.error is not None
    assert refused.error.exit_code == 2
    events = [json.loads(line)["event"] for line in stream.getvalue().splitlines()]
    assert events[-2:] == ["rollback.succeeded", "rollback.failed"]


def make_daemon(cfg: Config, store: MemoryStore, stream: io.StringIO) -> Daemon:
    audit, _ = make_audit_logger(AuditConfig(format="json"), instance="t", stream=stream)
    health = VaultHealth(reachable=True, sealed=False, authenticated=True, token_ttl=0)
    return Daemon(cfg, audit, backend_factory=lambda c: Backend(store, lambda: health))


def test_a_reload_adds_replans_and_removes_jobs_and_a_bad_one_changes_nothing() -> None:
    store = MemoryStore()
    stream = io.StringIO()
    daemon = make_daemon(config("a", "b"), store, stream)
    daemon.start()
    try:
        deadline = time.monotonic() + 10
        while store.writes < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(daemon.next_run_times()) == {"a", "b"}
        assert daemon.reload(config("b", "c"))
        deadline = time.monotonic() + 10
        while "p/c" not in store.versions and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(daemon.next_run_times()) == {"b", "c"}

        def broken() -> Config:
            return parse_config({"secrets": [{"name": "x"}]}, environ={})

        daemon._reload_config = broken
        assert not daemon.reload()
        assert set(daemon.next_run_times()) == {"b", "c"}
    finally:
        daemon.stop()
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    loaded = [e for e in events if e["event"] == "config.loaded"]
    assert loaded[0]["added"] == ["c"]
    assert loaded[0]["removed"] == ["a"]
    failed = [e for e in events if e["event"] == "config.reload_failed"]
    assert "secrets[x]" in failed[0]["error"]
    assert events[-1]["event"] == "daemon.stopped"


def test_the_daemon_retries_a_transient_failure_with_backoff_then_succeeds() -> None:
    class FlakyStore(MemoryStore):
        failures = 2

        def read_schedule(self, secret):  # type: ignore[no-untyped-def]
            return None  # planning sees a missing secret; the rotation's reads fail

        def read(self, secret):  # type: ignore[no-untyped-def]
            if self.failures:
                self.failures -= 1
                raise VaultUnavailable("cannot reach Vault", path="secret/data/p/a")
            return super().read(secret)

    store = FlakyStore()
    stream = io.StringIO()
    cfg = config("a", retry={"attempts": 5, "backoff": "1s", "max_backoff": "1s"})
    daemon = make_daemon(cfg, store, stream)
    daemon.start()
    try:
        deadline = time.monotonic() + 15
        while store.writes < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        daemon.stop()
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    kinds = [e["event"] for e in events if e["event"].startswith("rotation.")]
    assert kinds == [
        "rotation.failed",
        "rotation.retry_scheduled",
        "rotation.failed",
        "rotation.retry_scheduled",
        "rotation.started",
        "rotation.succeeded",
    ]
    attempts = [e["attempt"] for e in events if e["event"] == "rotation.failed"]
    assert attempts == [1, 2]


def test_the_alert_rules_use_only_metrics_rotator_exposes() -> None:
    rules = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "config" / "prometheus" / "alerts.yaml").read_text()
    )
    board = StatusBoard()
    board.observe_result(
        RotationResult(
            secret="w",
            outcome=Outcome.SUCCEEDED,
            rotation_id="r",
            trigger=Trigger.SCHEDULE,
            rotated_at=NOW,
            next_rotation_at=NOW,
        )
    )
    metrics = Metrics(board, FixedClock(NOW))
    metrics.observe(
        RotationResult(
            secret="w", outcome=Outcome.FAILED, rotation_id="r", trigger=Trigger.SCHEDULE
        )
    )
    exposed = set(re.findall(r"^(rotator_\w+)", metrics.render().decode(), re.MULTILINE))
    used = {
        name
        for group in rules["groups"]
        for rule in group["rules"]
        for name in re.findall(r"rotator_\w+", rule["expr"])
    }
    assert used
    assert used <= exposed, used - exposed


def test_runs_beyond_the_horizon_wait_outside_apscheduler_and_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(daemon_module, "HORIZON", timedelta(seconds=2))
    monkeypatch.setattr(daemon_module, "REFILL_INTERVAL", timedelta(seconds=1))
    store = MemoryStore()
    stream = io.StringIO()
    cfg = config("far", every="4s")
    audit, _ = make_audit_logger(AuditConfig(format="json"), instance="t", stream=stream)
    Rotator(store, audit).rotate(cfg.secrets[0], trigger=Trigger.MANUAL, force=True)
    daemon = make_daemon(cfg, store, stream)
    daemon.start()
    try:
        planned = json.loads(stream.getvalue().splitlines()[-1])
        assert planned["event"] == "daemon.planned"
        assert (planned["jobs"], planned["later"]) == (0, 1)  # due in 4 s: beyond the horizon
        deadline = time.monotonic() + 15
        while store.writes < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        daemon.stop()
    assert store.writes >= 2  # the refill handed it to APScheduler in time
