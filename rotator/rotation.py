"""Rotating one secret: read, decide, generate, write with check-and-set, record.

This is the core every entry point shares (the daemon's jobs, ``rotator
rotate``). It never sleeps and never retries by itself: it returns a
`RotationResult` that says what happened and when the secret is due next,
and the caller decides what to do about time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from structlog.typing import FilteringBoundLogger

from rotator.clock import SYSTEM_CLOCK, Clock, format_time
from rotator.config import SecretConfig
from rotator.errors import CasConflict, ConfigError, InvalidVaultData, NotManaged, RotatorError
from rotator.generators import SYSTEM_RANDOM, RandomSource
from rotator.record import KeyEntry, SecretRecord, make_kid
from rotator.schedule import Trigger, engine_jitter, in_window, next_due, window_open_at
from rotator.store import SecretStore, StoredSecret, Written
from rotator.values import SecretValue

__all__ = ["Outcome", "RotationResult", "Rotator", "Trigger"]


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    FAILED = "failed"
    #: ``--dry-run``: the rotation would have run; nothing was written.
    PLANNED = "planned"


@dataclass(frozen=True)
class RotationResult:
    """What one call of `Rotator.rotate` did. Holds no value."""

    secret: str
    outcome: Outcome
    rotation_id: str
    trigger: Trigger
    reason: str | None = None
    version: int | None = None
    previous_version: int | None = None
    kid: str | None = None
    rotated_at: datetime | None = None
    next_rotation_at: datetime | None = None
    error: RotatorError | None = None
    duration_ms: int = 0
    #: ``rotation`` or ``rollback``.
    operation: str = "rotation"


#: Called after each successful rotation or rollback (hooks): the secret, what
#: happened, and the new current value (None for transit keys).
AfterSuccess = Callable[[SecretConfig, "RotationResult", SecretValue | None], None]


class Rotator:
    """Rotates secrets through a store, recording every step in the audit log."""

    def __init__(
        self,
        store: SecretStore,
        audit: FilteringBoundLogger,
        *,
        clock: Clock = SYSTEM_CLOCK,
        random: RandomSource = SYSTEM_RANDOM,
        after_success: AfterSuccess | None = None,
    ) -> None:
        self._store = store
        self._audit = audit
        self._clock = clock
        self._random = random
        self._after_success = after_success

    def _log_for(
        self, secret: SecretConfig, trigger: Trigger, rotation_id: str, **fields: Any
    ) -> FilteringBoundLogger:
        """The audit logger of one rotation: every event carries these fields."""
        return self._audit.bind(
            secret=secret.name,
            engine=secret.engine,
            mount=secret.mount,
            path=secret.path,
            generator=secret.kind,
            trigger=str(trigger),
            rotation_id=rotation_id,
            **fields,
        )

    def _notify(
        self, secret: SecretConfig, result: RotationResult, value: SecretValue | None
    ) -> RotationResult:
        if self._after_success is not None and secret.hooks:
            try:
                self._after_success(secret, result, value)
            except Exception as exc:  # a notification must not turn a rotation into a failure
                self._audit.error(
                    "hook.failed",
                    secret=secret.name,
                    rotation_id=result.rotation_id,
                    error=f"{type(exc).__name__}: {exc}",
                )
        return result

    def rotate(
        self,
        secret: SecretConfig,
        *,
        trigger: Trigger,
        force: bool = False,
        attempt: int = 1,
        dry_run: bool = False,
        rotation_id: str | None = None,
    ) -> RotationResult:
        """Rotate `secret` if it is due (or `force`), with check-and-set.

        Never raises a `RotatorError`: failures come back as an outcome and
        are recorded as ``rotation.failed``. A retry passes the `rotation_id`
        of its first attempt: if that attempt's write reached Vault after all
        (its answer was lost), the retry finds it and records it as succeeded
        instead of rotating again.
        """
        retried_id = rotation_id if attempt > 1 else None
        rotation_id = rotation_id or str(uuid.uuid4())
        started = time.monotonic()
        log = self._log_for(secret, trigger, rotation_id, attempt=attempt)

        def result(outcome: Outcome, **fields: Any) -> RotationResult:
            return RotationResult(
                secret=secret.name,
                outcome=outcome,
                rotation_id=rotation_id,
                trigger=trigger,
                **fields,
            )

        def elapsed_ms() -> int:
            return round((time.monotonic() - started) * 1000)

        stored: StoredSecret | None = None
        try:
            stored = self._store.read(secret)
            if stored is not None and not stored.managed and not secret.adopt:
                raise NotManaged(
                    "a secret that rotator does not manage (no managed-by=rotator metadata) "
                    f"exists here; set adopt: true on secret {secret.name!r} to take it over",
                    path=f"{secret.mount}/{secret.path}",
                )
            now = self._clock.now().replace(microsecond=0)
            record = stored.record if stored is not None else None
            due_at = stored.schedule.next_rotation_at if stored is not None else None
            if (
                retried_id is not None
                and stored is not None
                and record is not None
                and record.rotation_id == retried_id
            ):
                return self._confirmed(
                    secret, stored, record, log=log, result=result, duration_ms=elapsed_ms()
                )
            wait = None if force or due_at is None else _reason_to_wait(secret, due_at, now)
            if wait is not None:
                reason, until = wait
                version = stored.version if stored else None
                log.info(
                    "rotation.skipped",
                    reason=reason,
                    version=version,
                    next_rotation_at=format_time(until),
                )
                return result(
                    Outcome.SKIPPED,
                    reason=reason,
                    version=version,
                    next_rotation_at=until,
                    duration_ms=elapsed_ms(),
                )
            previous_version = stored.version if stored is not None else 0
            if dry_run:
                return result(Outcome.PLANNED, previous_version=previous_version)
            log.info("rotation.started", previous_version=previous_version)
            written, kid, due, value = self._write_new(secret, stored, now, rotation_id)
        except CasConflict as exc:
            peer_due = self._peer_due(secret)
            log.info(
                "rotation.skipped",
                reason="peer",
                previous_version=exc.expected_version,
                duration_ms=elapsed_ms(),
            )
            return result(
                Outcome.SKIPPED,
                reason="peer",
                previous_version=exc.expected_version,
                next_rotation_at=peer_due,
                duration_ms=elapsed_ms(),
            )
        except RotatorError as exc:
            log.error(
                "rotation.failed",
                error=str(exc),
                error_type=type(exc).__name__,
                transient=exc.transient,
                duration_ms=elapsed_ms(),
            )
            return result(Outcome.FAILED, error=exc, duration_ms=elapsed_ms())

        fields: dict[str, Any] = {}
        if written.warning is not None:
            fields["warning"] = written.warning
        duration = elapsed_ms()
        log.info(
            "rotation.succeeded",
            version=written.version,
            previous_version=previous_version,
            kid=kid,
            next_rotation_at=format_time(due),
            duration_ms=duration,
            **fields,
        )
        done = result(
            Outcome.SUCCEEDED,
            version=written.version,
            previous_version=previous_version,
            kid=kid,
            rotated_at=now,
            next_rotation_at=due,
            duration_ms=duration,
        )
        return self._notify(secret, done, value)

    def _write_new(
        self,
        secret: SecretConfig,
        stored: StoredSecret | None,
        now: datetime,
        rotation_id: str,
    ) -> tuple[Written, str, datetime, SecretValue | None]:
        """Make and write the new version: what was written, its kid, next due time, value."""
        if secret.generator is None:  # the engine rotates by itself (transit)
            written = self._store.rotate_native(secret, read=stored, rotation_id=rotation_id)
            due = next_due(secret, now, engine_jitter(secret, written.version))
            return written, written.kid or f"v{written.version}", due, None
        generated = secret.generator.generate(self._random)
        entry = KeyEntry.from_generated(generated, kid=make_kid(self._random), now=now)
        due = next_due(secret, now, self._random)
        record = stored.record if stored is not None else None
        if record is not None:
            new_record = record.rotated(
                entry,
                now=now,
                next_rotation_at=due,
                keep_previous=secret.keep_previous,
                rotation_id=rotation_id,
            )
        else:
            new_record = SecretRecord.first(
                entry, now=now, next_rotation_at=due, rotation_id=rotation_id
            )
        written = self._store.write(secret, new_record, read=stored, rotation_id=rotation_id)
        return written, entry.kid, due, entry.value

    def _confirmed(
        self,
        secret: SecretConfig,
        stored: StoredSecret,
        record: SecretRecord,
        *,
        log: FilteringBoundLogger,
        result: Callable[..., RotationResult],
        duration_ms: int,
    ) -> RotationResult:
        """An earlier attempt's write landed although its answer was lost: record it once."""
        previous_version = max(0, stored.version - 1)
        log.info(
            "rotation.succeeded",
            version=stored.version,
            previous_version=previous_version,
            kid=record.current.kid,
            next_rotation_at=format_time(record.next_rotation_at),
            duration_ms=duration_ms,
            confirmed_after_error=True,
        )
        done: RotationResult = result(
            Outcome.SUCCEEDED,
            version=stored.version,
            previous_version=previous_version,
            kid=record.current.kid,
            rotated_at=record.rotated_at,
            next_rotation_at=record.next_rotation_at,
            duration_ms=duration_ms,
        )
        return self._notify(secret, done, record.current.value)

    def rollback(self, secret: SecretConfig, *, to_version: int | None = None) -> RotationResult:
        """Make the current value of an older version current again, as a new version.

        The value being replaced stays in the keyring as the previous one.
        `to_version` defaults to the version before the current one. Written
        with check-and-set; recorded as ``rollback.succeeded`` or ``rollback.failed``.
        """
        rotation_id = str(uuid.uuid4())
        started = time.monotonic()
        log = self._log_for(secret, Trigger.MANUAL, rotation_id)
        where = f"{secret.mount}/{secret.path}"
        try:
            stored = self._store.read(secret)
            if secret.engine != "kv2":
                raise ConfigError(
                    f"{where} is on engine {secret.engine}: rollback needs KV v2's versions "
                    "(KV v1 keeps none; a transit key keeps its old versions for decryption)"
                )
            if stored is None or not stored.managed or stored.record is None:
                raise NotManaged("there is no secret managed by rotator to roll back", path=where)
            if stored.version < 2:
                raise ConfigError(f"{where} has one version only: nothing to roll back to")
            target = to_version if to_version is not None else stored.version - 1
            if not 1 <= target < stored.version:
                raise ConfigError(
                    f"cannot roll back {where} to version {target}: "
                    f"choose a version from 1 to {stored.version - 1}",
                    key="--to",
                )
            old = self._store.read_version(secret, target)
            if old is None:
                raise InvalidVaultData(
                    f"version {target} is deleted, destroyed or was not written by rotator",
                    path=where,
                )
            now = self._clock.now().replace(microsecond=0)
            due = next_due(secret, now, self._random)
            record = stored.record.restored(
                old.current,
                now=now,
                next_rotation_at=due,
                keep_previous=secret.keep_previous,
                rotation_id=rotation_id,
            )
            written = self._store.write(secret, record, read=stored, rotation_id=rotation_id)
        except RotatorError as exc:
            log.error(
                "rollback.failed",
                error=str(exc),
                error_type=type(exc).__name__,
                duration_ms=round((time.monotonic() - started) * 1000),
            )
            return RotationResult(
                secret=secret.name,
                outcome=Outcome.FAILED,
                rotation_id=rotation_id,
                trigger=Trigger.MANUAL,
                error=exc,
            )
        log.info(
            "rollback.succeeded",
            version=written.version,
            previous_version=stored.version,
            restored_version=target,
            kid=old.current.kid,
            next_rotation_at=format_time(due),
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        done = RotationResult(
            secret=secret.name,
            outcome=Outcome.SUCCEEDED,
            operation="rollback",
            rotation_id=rotation_id,
            trigger=Trigger.MANUAL,
            version=written.version,
            previous_version=stored.version,
            kid=old.current.kid,
            rotated_at=now,
            next_rotation_at=due,
        )
        return self._notify(secret, done, old.current.value)

    def _peer_due(self, secret: SecretConfig) -> datetime | None:
        """When the secret a peer just rotated is due next, if Vault can say."""
        try:
            state = self._store.read_schedule(secret)
        except RotatorError:
            return None
        return state.next_rotation_at if state is not None else None


def _reason_to_wait(
    secret: SecretConfig, due_at: datetime, now: datetime
) -> tuple[str, datetime] | None:
    """Why a scheduled rotation must wait, and until when; None if it may run now."""
    if now < due_at:
        return "not_due", due_at
    if secret.window is not None and not in_window(secret.window, now):
        return "outside_window", window_open_at(secret.window, now)[0]
    return None
