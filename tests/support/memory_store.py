"""An in-memory `SecretStore`, for unit tests of the core only."""

from __future__ import annotations

import threading

from rotator.config import SecretConfig
from rotator.errors import CasConflict
from rotator.record import SecretRecord
from rotator.store import (
    MANAGED_BY,
    ScheduleState,
    SecretStore,
    StoredSecret,
    VersionInfo,
    Written,
)


class MemoryStore(SecretStore):
    def __init__(self) -> None:
        self.versions: dict[str, list[SecretRecord | None]] = {}
        self.managed: dict[str, bool] = {}
        self.writes = 0
        self._lock = threading.Lock()

    def put_foreign(self, secret: SecretConfig) -> None:
        """A secret someone else wrote at the path."""
        self.versions[secret.path] = [None]
        self.managed[secret.path] = False

    def read(self, secret: SecretConfig) -> StoredSecret | None:
        with self._lock:
            history = self.versions.get(secret.path)
            if not history:
                return None
            managed = self.managed[secret.path]
            return StoredSecret(
                version=len(history),
                managed=managed,
                record=history[-1],
                metadata={"managed-by": MANAGED_BY} if managed else {},
            )

    def read_schedule(self, secret: SecretConfig) -> ScheduleState | None:
        stored = self.read(secret)
        return stored.schedule if stored else None

    def write(
        self,
        secret: SecretConfig,
        record: SecretRecord,
        *,
        read: StoredSecret | None,
        rotation_id: str,
    ) -> Written:
        with self._lock:
            history = self.versions.setdefault(secret.path, [])
            expected = read.version if read is not None else 0
            if len(history) != expected:
                raise CasConflict(path=secret.path, expected_version=expected)
            history.append(record)
            self.managed[secret.path] = True
            self.writes += 1
            return Written(len(history))

    def read_version(self, secret: SecretConfig, version: int) -> SecretRecord | None:
        history = self.versions.get(secret.path) or []
        return history[version - 1] if 0 < version <= len(history) else None

    def history(self, secret: SecretConfig) -> list[VersionInfo]:
        history = self.versions.get(secret.path) or []
        return [
            VersionInfo(
                number,
                record.rotated_at if record else None,
                "current" if number == len(history) else "kept",
                record.current.kid if record else None,
                record.rotated_at if record else None,
            )
            for number, record in reversed(list(enumerate(history, start=1)))
        ]
