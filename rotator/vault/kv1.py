"""The KV version 1 engine: one unversioned secret per path.

KV v1 keeps no versions, no metadata and offers no check-and-set, so:
the ownership mark and the schedule clock live in the data itself
(``managed_by``, ``generator``, ``rotation_id``, ``version``: a counter
rotator keeps); there is no history and no rollback; and a write is guarded
only by reading the counter again just before it, which narrows but does
not close the race between replicas. Run one writer per KV v1 mount.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rotator.config import SecretConfig
from rotator.errors import CasConflict, InvalidVaultData
from rotator.record import SecretRecord
from rotator.store import MANAGED_BY, ScheduleState, SecretStore, StoredSecret, VersionInfo, Written
from rotator.vault.connection import VaultConnection
from rotator.vault.errors import NotFound

__all__ = ["KV1Store"]


class KV1Store(SecretStore):
    """Secrets in a KV v1 mount."""

    def __init__(self, connection: VaultConnection) -> None:
        self._connection = connection

    def _read_raw(self, secret: SecretConfig) -> dict[str, Any] | None:
        path = f"{secret.mount}/{secret.path}"
        client = self._connection.client()
        try:
            with self._connection.request(path, "read"):
                response = client.secrets.kv.v1.read_secret(
                    path=secret.path, mount_point=secret.mount
                )
        except NotFound:
            return None
        data = response.get("data") if isinstance(response, Mapping) else None
        if not isinstance(data, dict):
            raise InvalidVaultData("the secret's data is not a mapping", path=path)
        return data

    def read(self, secret: SecretConfig) -> StoredSecret | None:
        data = self._read_raw(secret)
        if data is None:
            return None
        managed = data.get("managed_by") == MANAGED_BY
        version = _counter(data) if managed else 0
        record = (
            SecretRecord.from_data(data, path=f"{secret.mount}/{secret.path}") if managed else None
        )
        return StoredSecret(version=version, managed=managed, record=record)

    def read_schedule(self, secret: SecretConfig) -> ScheduleState | None:
        stored = self.read(secret)
        return stored.schedule if stored is not None else None

    def read_version(self, secret: SecretConfig, version: int) -> SecretRecord | None:
        stored = self.read(secret)
        if stored is None or stored.version != version:
            return None  # KV v1 keeps the current value only
        return stored.record

    def history(self, secret: SecretConfig) -> list[VersionInfo]:
        stored = self.read(secret)
        if stored is None:
            return []
        record = stored.record
        return [
            VersionInfo(
                version=stored.version,
                created_at=record.rotated_at if record else None,
                state="current",
                kid=record.current.kid if record else None,
                rotated_at=record.rotated_at if record else None,
            )
        ]

    def write(
        self,
        secret: SecretConfig,
        record: SecretRecord,
        *,
        read: StoredSecret | None,
        rotation_id: str,
    ) -> Written:
        path = f"{secret.mount}/{secret.path}"
        expected = read.version if read is not None else 0
        again = self._read_raw(secret)
        now_version = _counter(again) if again and again.get("managed_by") == MANAGED_BY else 0
        if (again is None) != (read is None) or now_version != expected:
            raise CasConflict(path=path, expected_version=expected)
        version = expected + 1
        data = {
            **record.to_data(),
            "managed_by": MANAGED_BY,
            "generator": secret.kind,
            "rotation_id": rotation_id,
            "version": version,
        }
        client = self._connection.client()
        with self._connection.request(path, "update" if read is not None else "create"):
            client.secrets.kv.v1.create_or_update_secret(
                path=secret.path, secret=data, mount_point=secret.mount
            )
        return Written(version)

    def required_capabilities(self, secret: SecretConfig) -> dict[str, tuple[str, ...]]:
        return {f"{secret.mount}/{secret.path}": ("create", "read", "update")}


def _counter(data: Mapping[str, Any]) -> int:
    value = data.get("version")
    return value if isinstance(value, int) and value > 0 else 0
