from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from rotator.audit import make_audit_logger
from rotator.config import AuditConfig, SecretConfig, parse_config
from rotator.errors import CasConflict, VaultUnavailable
from rotator.record import SecretRecord
from rotator.rotation import Outcome, Rotator, Trigger
from rotator.store import StoredSecret, Written
from tests.support.configs import FixedClock
from tests.support.memory_store import MemoryStore
from tests.support.seeded import SeededRandom

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def secret(**fields: Any) -> SecretConfig:
    raw = {
        "vault": {"auth": {"token": "x"}},
        "secrets": [
            {
                "name": "web",
                "path": "apps/web",
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
                "keep_previous": 1,
                **fields,
            }
        ],
    }
    return parse_config(raw, environ={}).secrets[0]


class Harness:
    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()
        self.stream = io.StringIO()
        audit, _ = make_audit_logger(AuditConfig(), instance="t", stream=self.stream)
        self.clock = FixedClock(T0)
        self.rotator = Rotator(self.store, audit, clock=self.clock, random=SeededRandom(1))

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


def test_a_new_secret_is_created_and_recorded_without_its_value() -> None:
    h = Harness()
    s = secret()
    result = h.rotator.rotate(s, trigger=Trigger.INITIAL)
    assert result.outcome is Outcome.SUCCEEDED
    assert result.version == 1
    assert result.previous_version == 0
    assert result.next_rotation_at == T0 + timedelta(hours=1)
    record = h.store.versions["apps/web"][0]
    assert record is not None
    events = h.events()
    assert [e["event"] for e in events] == ["rotation.started", "rotation.succeeded"]
    done = events[1]
    for field in (
        "secret",
        "engine",
        "mount",
        "path",
        "generator",
        "trigger",
        "rotation_id",
        "kid",
        "version",
        "previous_version",
        "attempt",
        "duration_ms",
    ):
        assert field in done, field
    assert done["trigger"] == "initial"
    assert done["kid"] == record.current.kid
    assert record.current.value.reveal() not in h.stream.getvalue()


def test_not_due_is_skipped_unless_forced() -> None:
    h = Harness()
    s = secret()
    h.rotator.rotate(s, trigger=Trigger.INITIAL)
    h.clock.now_value = T0 + timedelta(minutes=59)
    skipped = h.rotator.rotate(s, trigger=Trigger.SCHEDULE)
    assert skipped.outcome is Outcome.SKIPPED
    assert skipped.reason == "not_due"
    assert skipped.next_rotation_at == T0 + timedelta(hours=1)
    forced = h.rotator.rotate(s, trigger=Trigger.MANUAL, force=True)
    assert forced.outcome is Outcome.SUCCEEDED
    assert h.store.writes == 2


def test_each_rotation_moves_current_to_previous() -> None:
    h = Harness()
    s = secret(keep_previous=2)
    records: list[SecretRecord] = []
    for hour in range(4):
        h.clock.now_value = T0 + timedelta(hours=hour)
        assert h.rotator.rotate(s, trigger=Trigger.SCHEDULE).outcome is Outcome.SUCCEEDED
        latest = h.store.versions["apps/web"][-1]
        assert latest is not None
        records.append(latest)
    for before, after in itertools.pairwise(records):
        assert after.previous == before.current
    assert len(records[-1].keyring) == 3


def test_a_secret_rotator_does_not_manage_is_refused_unless_adopted() -> None:
    h = Harness()
    s = secret()
    h.store.put_foreign(s)
    refused = h.rotator.rotate(s, trigger=Trigger.INITIAL)
    assert refused.outcome is Outcome.FAILED
    assert "adopt: true" in str(refused.error)
    assert "secret/apps/web" in str(refused.error)
    assert h.store.writes == 0
    adopted = h.rotator.rotate(secret(adopt=True), trigger=Trigger.INITIAL)
    assert adopted.outcome is Outcome.SUCCEEDED
    assert adopted.version == 2


class LosingStore(MemoryStore):
    """A peer writes between our read and our write."""

    def write(
        self,
        secret: SecretConfig,
        record: SecretRecord,
        *,
        read: StoredSecret | None,
        rotation_id: str,
    ) -> Written:
        raise CasConflict(path=secret.path, expected_version=read.version if read else 0)


def test_a_lost_check_and_set_is_a_peer_skip() -> None:
    h = Harness(LosingStore())
    result = h.rotator.rotate(secret(), trigger=Trigger.SCHEDULE)
    assert result.outcome is Outcome.SKIPPED
    assert result.reason == "peer"
    assert h.events()[-1]["event"] == "rotation.skipped"
    assert h.events()[-1]["reason"] == "peer"


class DownStore(MemoryStore):
    def read(self, secret: SecretConfig) -> StoredSecret | None:
        raise VaultUnavailable("cannot reach Vault: connection refused", path="secret/data/x")


def test_a_vault_failure_is_an_outcome_and_an_event_not_an_exception() -> None:
    h = Harness(DownStore())
    result = h.rotator.rotate(secret(), trigger=Trigger.SCHEDULE, attempt=2)
    assert result.outcome is Outcome.FAILED
    assert result.error is not None
    assert result.error.transient
    event = h.events()[-1]
    assert event["event"] == "rotation.failed"
    assert event["attempt"] == 2
    assert "connection refused" in event["error"]


def test_dry_run_writes_nothing() -> None:
    h = Harness()
    result = h.rotator.rotate(secret(), trigger=Trigger.MANUAL, force=True, dry_run=True)
    assert result.outcome is Outcome.PLANNED
    assert h.store.writes == 0
    assert h.events() == []


class LostAnswerStore(MemoryStore):
    """The write lands in Vault, but its answer never reaches rotator."""

    lose_next = False

    def write(
        self,
        secret: SecretConfig,
        record: SecretRecord,
        *,
        read: StoredSecret | None,
        rotation_id: str,
    ) -> Written:
        written = super().write(secret, record, read=read, rotation_id=rotation_id)
        if self.lose_next:
            self.lose_next = False
            raise VaultUnavailable("cannot reach Vault: connection aborted", path=secret.path)
        return written


def test_a_retry_recognises_its_own_write_whose_answer_was_lost() -> None:
    h = Harness(LostAnswerStore())
    s = secret()
    store = h.store
    assert isinstance(store, LostAnswerStore)
    h.rotator.rotate(s, trigger=Trigger.INITIAL)
    h.clock.now_value = T0 + timedelta(hours=2)
    store.lose_next = True
    first = h.rotator.rotate(s, trigger=Trigger.SCHEDULE)
    assert first.outcome is Outcome.FAILED
    assert h.store.writes == 2  # it did land
    retry = h.rotator.rotate(s, trigger=Trigger.SCHEDULE, attempt=2, rotation_id=first.rotation_id)
    assert retry.outcome is Outcome.SUCCEEDED
    assert retry.version == 2
    assert h.store.writes == 2  # and was not made again
    confirmed = h.events()[-1]
    assert confirmed["event"] == "rotation.succeeded"
    assert confirmed["confirmed_after_error"] is True
    assert confirmed["rotation_id"] == first.rotation_id
