"""The one interface between rotator's core and wherever secrets live.

The core (`rotator.rotation`) reads a `StoredSecret`, decides, and writes a
new `SecretRecord` with check-and-set against the version it read. The
Vault engines implement `SecretStore` in `rotator.vault`; tests of the core
use an in-memory store.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rotator.config import SecretConfig
from rotator.errors import ConfigError
from rotator.record import SecretRecord

__all__ = [
    "MANAGED_BY",
    "ScheduleState",
    "SecretStore",
    "StoredSecret",
    "VersionInfo",
    "Written",
]

#: The ``managed-by`` metadata value that marks a secret as rotator's.
MANAGED_BY = "rotator"


@dataclass(frozen=True)
class ScheduleState:
    """When a secret was last rotated and falls due, without its value."""

    version: int
    managed: bool
    rotated_at: datetime | None
    next_rotation_at: datetime | None


@dataclass(frozen=True)
class StoredSecret:
    """What a store found at a secret's path.

    `record` is None when the current version is not in rotator's format
    (a secret being adopted) or has been deleted.
    """

    version: int
    managed: bool
    record: SecretRecord | None
    metadata: Mapping[str, str] = field(default_factory=dict)
    #: For engines without a record (transit): the clock as the engine keeps it.
    rotated_at: datetime | None = None
    next_rotation_at: datetime | None = None

    @property
    def schedule(self) -> ScheduleState:
        record = self.record
        return ScheduleState(
            version=self.version,
            managed=self.managed,
            rotated_at=record.rotated_at if record else self.rotated_at,
            next_rotation_at=record.next_rotation_at if record else self.next_rotation_at,
        )


@dataclass(frozen=True)
class Written:
    """The outcome of a write that reached Vault.

    `warning` says what went wrong after the value was written (the
    metadata update), which does not undo the rotation.
    """

    version: int
    warning: str | None = None
    #: The key id of what became current, for engines that name it themselves (transit).
    kid: str | None = None


@dataclass(frozen=True)
class VersionInfo:
    """One stored version, as ``rotator history`` shows it. Holds no value."""

    version: int
    created_at: datetime | None
    state: str  # "current", "kept", "deleted" or "destroyed"
    kid: str | None = None
    rotated_at: datetime | None = None


class SecretStore(ABC):
    """Read and write managed secrets. Every write is a check-and-set."""

    @abstractmethod
    def read(self, secret: SecretConfig) -> StoredSecret | None:
        """The current version of `secret`, or None if nothing is stored at its path."""

    @abstractmethod
    def read_schedule(self, secret: SecretConfig) -> ScheduleState | None:
        """The schedule clock of `secret` from metadata alone, or None if absent."""

    @abstractmethod
    def write(
        self,
        secret: SecretConfig,
        record: SecretRecord,
        *,
        read: StoredSecret | None,
        rotation_id: str,
    ) -> Written:
        """Write `record` as the new version, if `read` is still the current one.

        `read` is what `read` returned (None: nothing was stored). Returns
        the new version; raises `CasConflict` if a peer wrote first.
        """

    @abstractmethod
    def read_version(self, secret: SecretConfig, version: int) -> SecretRecord | None:
        """The record of an older `version`; None if it is deleted, destroyed or foreign."""

    @abstractmethod
    def history(self, secret: SecretConfig) -> list[VersionInfo]:
        """Every version still stored, newest first; empty if nothing is stored."""

    def rotate_native(
        self, secret: SecretConfig, *, read: StoredSecret | None, rotation_id: str
    ) -> Written:
        """Have the engine rotate `secret` itself (transit keys). KV engines cannot."""
        raise ConfigError(
            f"engine {secret.engine} needs a generator", key=f"secrets[{secret.name}].generator"
        )

    def required_capabilities(self, secret: SecretConfig) -> dict[str, tuple[str, ...]]:
        """The Vault paths `secret` needs and the capabilities on each (for validate)."""
        return {}
