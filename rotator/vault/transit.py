"""The transit engine: Vault rotates the key; rotator decides when, and retires old versions.

A rotation asks Vault to add a key version (``keys/NAME/rotate``, or creates
the key the first time), then moves ``min_decryption_version`` so that the
newest version and exactly `keep_previous` older ones still decrypt, and,
with ``trim: true``, deletes the versions below it for good. The schedule
clock is the creation time Vault records for the newest version; the due
time is recomputed from it (with a jitter that is the same on every
replica). Transit keys carry no metadata: naming a key in the config is
what makes rotator manage it, and transit offers no check-and-set, so a
replica re-reads the newest version just before rotating.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rotator.clock import parse_time
from rotator.config import SecretConfig
from rotator.errors import CasConflict, ConfigError, InvalidVaultData, RotatorError
from rotator.record import SecretRecord
from rotator.schedule import engine_jitter, next_due
from rotator.store import ScheduleState, SecretStore, StoredSecret, VersionInfo, Written
from rotator.vault.connection import VaultConnection
from rotator.vault.errors import NotFound

__all__ = ["TransitKey", "TransitStore"]


class TransitKey:
    """What Vault says about a transit key: versions, their times, the decryption floor."""

    def __init__(self, data: Mapping[str, Any], *, path: str) -> None:
        try:
            self.latest = int(data["latest_version"])
            self.min_decryption = int(data.get("min_decryption_version") or 1)
            self.min_available = int(data.get("min_available_version") or 0)
            self.created: dict[int, datetime | None] = {
                int(version): _creation_time(info) for version, info in data["keys"].items()
            }
        except (KeyError, TypeError, ValueError):
            raise InvalidVaultData("not a transit key answer", path=path) from None


def _creation_time(info: Any) -> datetime | None:
    if isinstance(info, int | float):
        return datetime.fromtimestamp(info, UTC)
    if isinstance(info, Mapping) and isinstance(info.get("creation_time"), str):
        try:
            return parse_time(info["creation_time"])
        except ValueError:
            return None
    return None


class TransitStore(SecretStore):
    """Keys in a transit mount."""

    def __init__(self, connection: VaultConnection) -> None:
        self._connection = connection

    def _key(self, secret: SecretConfig) -> TransitKey | None:
        path = f"{secret.mount}/keys/{secret.path}"
        client = self._connection.client()
        try:
            with self._connection.request(path, "read"):
                response = client.secrets.transit.read_key(
                    name=secret.path, mount_point=secret.mount
                )
        except NotFound:
            return None
        data = response.get("data") if isinstance(response, Mapping) else None
        if not isinstance(data, Mapping):
            raise InvalidVaultData("not a transit key answer", path=path)
        return TransitKey(data, path=path)

    def read(self, secret: SecretConfig) -> StoredSecret | None:
        key = self._key(secret)
        if key is None:
            return None
        rotated_at = key.created.get(key.latest)
        due = (
            next_due(secret, rotated_at, engine_jitter(secret, key.latest))
            if rotated_at is not None
            else None
        )
        return StoredSecret(
            version=key.latest,
            managed=True,
            record=None,
            rotated_at=rotated_at,
            next_rotation_at=due,
        )

    def read_schedule(self, secret: SecretConfig) -> ScheduleState | None:
        stored = self.read(secret)
        return stored.schedule if stored is not None else None

    def read_version(self, secret: SecretConfig, version: int) -> SecretRecord | None:
        return None  # transit versions are used by Vault, never read out

    def history(self, secret: SecretConfig) -> list[VersionInfo]:
        key = self._key(secret)
        if key is None:
            return []
        found = []
        for version in sorted(key.created, reverse=True):
            if version == key.latest:
                state = "current"
            elif version >= key.min_decryption:
                state = "kept"
            else:
                state = "retired"  # no longer decrypts
            created = key.created[version]
            found.append(VersionInfo(version, created, state, f"v{version}", created))
        return found

    def write(
        self,
        secret: SecretConfig,
        record: SecretRecord,
        *,
        read: StoredSecret | None,
        rotation_id: str,
    ) -> Written:
        raise ConfigError(
            "a transit key is rotated by Vault and takes no generated value",
            key=f"secrets[{secret.name}].generator",
        )

    def rotate_native(
        self, secret: SecretConfig, *, read: StoredSecret | None, rotation_id: str
    ) -> Written:
        client = self._connection.client()
        key_path = f"{secret.mount}/keys/{secret.path}"
        if read is None:
            with self._connection.request(key_path, "create"):
                client.secrets.transit.create_key(
                    name=secret.path, key_type=secret.key_type, mount_point=secret.mount
                )
        else:
            current = self._key(secret)
            if current is None or current.latest != read.version:
                raise CasConflict(path=key_path, expected_version=read.version)
            with self._connection.request(f"{key_path}/rotate", "update"):
                client.secrets.transit.rotate_key(name=secret.path, mount_point=secret.mount)
        key = self._key(secret)
        if key is None:
            raise InvalidVaultData("the key vanished right after its rotation", path=key_path)
        # The new version exists now: what follows retires old ones, and a failure
        # there is a warning (the next rotation moves the floor again), not a
        # failed rotation that a retry would repeat.
        try:
            self._retire(secret, key)
        except RotatorError as exc:
            return Written(key.latest, kid=f"v{key.latest}", warning=f"old versions kept: {exc}")
        return Written(key.latest, kid=f"v{key.latest}")

    def _retire(self, secret: SecretConfig, key: TransitKey) -> None:
        """Keep the newest version and `keep_previous` older ones for decryption."""
        client = self._connection.client()
        key_path = f"{secret.mount}/keys/{secret.path}"
        floor = max(1, key.latest - secret.keep_previous)
        if floor != key.min_decryption:
            settings: dict[str, int] = {"min_decryption_version": floor}
            if secret.trim:
                settings["min_encryption_version"] = floor  # trim requires both floors
            # Posted directly: hvac refuses min_encryption_version == min_decryption_version,
            # which Vault accepts (and trim needs).
            with self._connection.request(f"{key_path}/config", "update"):
                client.adapter.post(f"/v1/{key_path}/config", json=settings)
        if secret.trim and floor > max(1, key.min_available):
            with self._connection.request(f"{key_path}/trim", "update"):
                client.secrets.transit.trim_key(
                    name=secret.path, min_version=floor, mount_point=secret.mount
                )

    def required_capabilities(self, secret: SecretConfig) -> dict[str, tuple[str, ...]]:
        base = f"{secret.mount}/keys/{secret.path}"
        paths = {
            base: ("create", "read", "update"),
            f"{base}/rotate": ("update",),
            f"{base}/config": ("update",),
        }
        if secret.trim:
            paths[f"{base}/trim"] = ("update",)
        return paths
