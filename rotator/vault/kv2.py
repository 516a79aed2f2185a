"""The KV version 2 engine: one secret per path, a new version per rotation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rotator.clock import format_time, parse_time
from rotator.config import SecretConfig
from rotator.errors import InvalidVaultData, RotatorError
from rotator.record import SecretRecord
from rotator.store import (
    MANAGED_BY,
    ScheduleState,
    SecretStore,
    StoredSecret,
    VersionInfo,
    Written,
)
from rotator.vault.connection import VaultConnection
from rotator.vault.errors import NotFound

__all__ = ["KV2Store"]


class KV2Store(SecretStore):
    """Secrets in a KV v2 mount, written with check-and-set.

    Data holds the record; ``custom_metadata`` holds who manages the secret
    and its schedule clock, so that planning reads metadata only. The
    metadata is written after the data: if a crash falls between the two,
    ``rotated-version`` no longer matches the current version and readers
    take the clock from the data instead.
    """

    def __init__(self, connection: VaultConnection) -> None:
        self._connection = connection

    # -- reading -----------------------------------------------------------

    def _read_metadata(self, secret: SecretConfig) -> dict[str, Any] | None:
        path = f"{secret.mount}/metadata/{secret.path}"
        client = self._connection.client()
        try:
            with self._connection.request(path, "read"):
                response = client.secrets.kv.v2.read_secret_metadata(
                    path=secret.path, mount_point=secret.mount
                )
        except NotFound:
            return None
        data = response.get("data") if isinstance(response, Mapping) else None
        if not isinstance(data, dict) or not isinstance(data.get("current_version"), int):
            raise InvalidVaultData("metadata has no current_version", path=path)
        return data

    def _read_data(self, secret: SecretConfig, version: int) -> dict[str, Any] | None:
        path = f"{secret.mount}/data/{secret.path}"
        client = self._connection.client()
        try:
            with self._connection.request(path, "read"):
                response = client.secrets.kv.v2.read_secret_version(
                    path=secret.path,
                    version=version,
                    mount_point=secret.mount,
                    raise_on_deleted_version=True,
                )
        except NotFound:
            return None
        outer = response.get("data") if isinstance(response, Mapping) else None
        data = outer.get("data") if isinstance(outer, Mapping) else None
        if data is None:
            return None
        if not isinstance(data, dict):
            raise InvalidVaultData("the secret's data is not a mapping", path=path)
        return data

    def read(self, secret: SecretConfig) -> StoredSecret | None:
        """The latest version with its metadata, in one request.

        KV v2 answers a data read with the version's metadata, custom
        metadata included (also for a deleted latest version). Only when
        there is no version at all is the metadata asked for on its own
        (it may exist, with an operator's custom metadata, and no data).
        """
        path = f"{secret.mount}/data/{secret.path}"
        client = self._connection.client()
        try:
            with self._connection.request(path, "read"):
                response = client.secrets.kv.v2.read_secret_version(
                    path=secret.path, mount_point=secret.mount, raise_on_deleted_version=False
                )
        except NotFound:
            metadata = self._read_metadata(secret)
            if metadata is None:
                return None
            custom = _custom_metadata(metadata)
            return StoredSecret(
                version=metadata["current_version"],
                managed=custom.get("managed-by") == MANAGED_BY,
                record=None,
                metadata=custom,
            )
        outer = response.get("data") if isinstance(response, Mapping) else None
        meta = outer.get("metadata") if isinstance(outer, Mapping) else None
        if not isinstance(meta, Mapping) or not isinstance(meta.get("version"), int):
            raise InvalidVaultData("the answer has no version metadata", path=path)
        custom = _custom_metadata(meta)
        managed = custom.get("managed-by") == MANAGED_BY
        data = outer.get("data") if isinstance(outer, Mapping) else None
        record = None
        if managed and data is not None:
            if not isinstance(data, Mapping):
                raise InvalidVaultData("the secret's data is not a mapping", path=path)
            record = SecretRecord.from_data(data, path=path)
        return StoredSecret(
            version=meta["version"], managed=managed, record=record, metadata=custom
        )

    def read_schedule(self, secret: SecretConfig) -> ScheduleState | None:
        metadata = self._read_metadata(secret)
        if metadata is None:
            return None
        custom = _custom_metadata(metadata)
        managed = custom.get("managed-by") == MANAGED_BY
        version: int = metadata["current_version"]
        if managed and custom.get("rotated-version") == str(version):
            try:
                return ScheduleState(
                    version=version,
                    managed=True,
                    rotated_at=parse_time(custom["rotated-at"]),
                    next_rotation_at=parse_time(custom["next-rotation-at"]),
                )
            except (KeyError, ValueError):
                pass  # damaged metadata: the data is authoritative
        stored = self.read(secret)
        return stored.schedule if stored is not None else None

    def read_version(self, secret: SecretConfig, version: int) -> SecretRecord | None:
        data = self._read_data(secret, version)
        if data is None or "keyring" not in data:
            return None
        return SecretRecord.from_data(data, path=f"{secret.mount}/data/{secret.path}")

    def history(self, secret: SecretConfig) -> list[VersionInfo]:
        metadata = self._read_metadata(secret)
        if metadata is None:
            return []
        current = metadata["current_version"]
        versions = metadata.get("versions") or {}
        found = []
        for key in sorted(versions, key=int, reverse=True):
            entry = versions[key] or {}
            number = int(key)
            created = _maybe_time(entry.get("created_time"))
            if entry.get("destroyed"):
                found.append(VersionInfo(number, created, "destroyed"))
                continue
            if entry.get("deletion_time"):
                found.append(VersionInfo(number, created, "deleted"))
                continue
            data = self._read_data(secret, number) or {}
            kid = data.get("kid") if isinstance(data.get("kid"), str) else None
            rotated = _maybe_time(data.get("rotated_at"))
            state = "current" if number == current else "kept"
            found.append(VersionInfo(number, created, state, kid, rotated))
        return found

    def required_capabilities(self, secret: SecretConfig) -> dict[str, tuple[str, ...]]:
        return {
            f"{secret.mount}/data/{secret.path}": ("create", "read", "update"),
            f"{secret.mount}/metadata/{secret.path}": ("read", "update"),
        }

    # -- writing -----------------------------------------------------------

    def write(
        self,
        secret: SecretConfig,
        record: SecretRecord,
        *,
        read: StoredSecret | None,
        rotation_id: str,
    ) -> Written:
        expected = read.version if read is not None else 0
        data_path = f"{secret.mount}/data/{secret.path}"
        client = self._connection.client()
        capability = "update" if read is not None else "create"
        with self._connection.request(data_path, capability, expected_version=expected):
            response = client.secrets.kv.v2.create_or_update_secret(
                path=secret.path,
                secret=record.to_data(),
                cas=expected,
                mount_point=secret.mount,
            )
        try:
            version = int(response["data"]["version"])
        except (KeyError, TypeError, ValueError):
            raise InvalidVaultData("the write answered without a version", path=data_path) from None
        custom = dict(read.metadata) if read is not None else {}
        custom.update(
            {
                "managed-by": MANAGED_BY,
                "rotator-secret": secret.name,
                "generator": secret.kind,
                "rotated-at": format_time(record.rotated_at),
                "next-rotation-at": format_time(record.next_rotation_at),
                "rotation-id": rotation_id,
                "rotated-version": str(version),
            }
        )
        try:
            self._write_metadata(secret, custom)
        except RotatorError as exc:
            return Written(version, warning=f"metadata not updated: {exc}")
        return Written(version)

    def _write_metadata(self, secret: SecretConfig, custom: Mapping[str, str]) -> None:
        path = f"{secret.mount}/metadata/{secret.path}"
        client = self._connection.client()
        # hvac's update_metadata always sends delete_version_after=0s, which
        # would undo an operator's setting; send only what rotator owns.
        with self._connection.request(path, "update"):
            client.adapter.post(
                url=f"/v1/{secret.mount}/metadata/{secret.path}",
                json={"custom_metadata": dict(custom), "max_versions": secret.max_versions},
            )


def _maybe_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        return None


def _custom_metadata(metadata: Mapping[str, Any]) -> dict[str, str]:
    custom = metadata.get("custom_metadata") or {}
    if not isinstance(custom, Mapping):
        return {}
    return {str(key): str(value) for key, value in custom.items()}
