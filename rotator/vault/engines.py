"""Every engine behind the one store interface, chosen by each secret's ``engine``."""

from __future__ import annotations

from rotator.config import SecretConfig
from rotator.record import SecretRecord
from rotator.store import ScheduleState, SecretStore, StoredSecret, VersionInfo, Written
from rotator.vault.connection import VaultConnection
from rotator.vault.kv1 import KV1Store
from rotator.vault.kv2 import KV2Store
from rotator.vault.transit import TransitStore

__all__ = ["VaultStore"]


class VaultStore(SecretStore):
    """Routes each call to the KV v2, KV v1 or transit store."""

    def __init__(self, connection: VaultConnection) -> None:
        self.connection = connection
        self._stores: dict[str, SecretStore] = {
            "kv2": KV2Store(connection),
            "kv1": KV1Store(connection),
            "transit": TransitStore(connection),
        }

    def _for(self, secret: SecretConfig) -> SecretStore:
        return self._stores[secret.engine]

    def read(self, secret: SecretConfig) -> StoredSecret | None:
        return self._for(secret).read(secret)

    def read_schedule(self, secret: SecretConfig) -> ScheduleState | None:
        return self._for(secret).read_schedule(secret)

    def write(
        self,
        secret: SecretConfig,
        record: SecretRecord,
        *,
        read: StoredSecret | None,
        rotation_id: str,
    ) -> Written:
        return self._for(secret).write(secret, record, read=read, rotation_id=rotation_id)

    def rotate_native(
        self, secret: SecretConfig, *, read: StoredSecret | None, rotation_id: str
    ) -> Written:
        return self._for(secret).rotate_native(secret, read=read, rotation_id=rotation_id)

    def read_version(self, secret: SecretConfig, version: int) -> SecretRecord | None:
        return self._for(secret).read_version(secret, version)

    def history(self, secret: SecretConfig) -> list[VersionInfo]:
        return self._for(secret).history(secret)

    def required_capabilities(self, secret: SecretConfig) -> dict[str, tuple[str, ...]]:
        return self._for(secret).required_capabilities(secret)
