"""The record rotator keeps in Vault for each secret, and how a rotation changes it.

Pure: no I/O. A `SecretRecord` is what one KV version holds: the keyring
(newest first; its head is ``current``) and the schedule clock. `to_data`
gives the fields of the design (``current``, ``kid``, ``previous``,
``previous_kid``, ``keyring``, ``rotated_at``, ``next_rotation_at``, and
the public material of key pairs); `from_data` reads them back and refuses
anything else with an `InvalidVaultData` that names the path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rotator.clock import format_time, parse_time
from rotator.errors import InvalidVaultData
from rotator.generators import GeneratedSecret, RandomSource
from rotator.values import SecretValue

__all__ = ["KeyEntry", "SecretRecord", "make_kid"]

#: Public fields a key pair adds; copied to the top level for the current key.
PUBLIC_FIELDS = ("public_key_pem", "public_jwk")


def make_kid(random: RandomSource) -> str:
    """A short random key id (48 bits, 12 hex digits)."""
    return random.token_bytes(6).hex()


@dataclass(frozen=True)
class KeyEntry:
    """One value in the keyring."""

    kid: str
    value: SecretValue
    created_at: datetime
    public: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_generated(cls, generated: GeneratedSecret, *, kid: str, now: datetime) -> KeyEntry:
        public = dict(generated.public)
        jwk = public.get("public_jwk")
        if isinstance(jwk, Mapping):
            public["public_jwk"] = {**jwk, "kid": kid}
        return cls(kid=kid, value=generated.value, created_at=now, public=public)

    def to_data(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "value": self.value.reveal(),
            "created_at": format_time(self.created_at),
            **self.public,
        }


@dataclass(frozen=True)
class SecretRecord:
    """The data of one version of a managed secret."""

    keyring: tuple[KeyEntry, ...]
    rotated_at: datetime
    next_rotation_at: datetime
    #: The rotation that wrote this version: lets a retry recognise its own write.
    rotation_id: str | None = None

    def __post_init__(self) -> None:
        if not self.keyring:
            raise ValueError("a record holds at least its current key")

    @property
    def current(self) -> KeyEntry:
        return self.keyring[0]

    @property
    def previous(self) -> KeyEntry | None:
        return self.keyring[1] if len(self.keyring) > 1 else None

    def rotated(
        self,
        new: KeyEntry,
        *,
        now: datetime,
        next_rotation_at: datetime,
        keep_previous: int,
        rotation_id: str | None = None,
    ) -> SecretRecord:
        """The record after `new` becomes current, keeping `keep_previous` older keys."""
        return SecretRecord(
            keyring=(new, *self.keyring)[: keep_previous + 1],
            rotated_at=now,
            next_rotation_at=next_rotation_at,
            rotation_id=rotation_id,
        )

    def restored(
        self,
        old: KeyEntry,
        *,
        now: datetime,
        next_rotation_at: datetime,
        keep_previous: int,
        rotation_id: str | None = None,
    ) -> SecretRecord:
        """The record after an older key becomes current again (a rollback).

        The key that was current stays in the keyring as the previous one,
        so consumers that already hold it keep working.
        """
        others = tuple(entry for entry in self.keyring if entry.kid != old.kid)
        return SecretRecord(
            keyring=(old, *others)[: keep_previous + 1],
            rotated_at=now,
            next_rotation_at=next_rotation_at,
            rotation_id=rotation_id,
        )

    @classmethod
    def first(
        cls,
        new: KeyEntry,
        *,
        now: datetime,
        next_rotation_at: datetime,
        rotation_id: str | None = None,
    ) -> SecretRecord:
        return cls(
            keyring=(new,),
            rotated_at=now,
            next_rotation_at=next_rotation_at,
            rotation_id=rotation_id,
        )

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "current": self.current.value.reveal(),
            "kid": self.current.kid,
        }
        previous = self.previous
        if previous is not None:
            data["previous"] = previous.value.reveal()
            data["previous_kid"] = previous.kid
        data.update(self.current.public)
        data["keyring"] = [entry.to_data() for entry in self.keyring]
        data["rotated_at"] = format_time(self.rotated_at)
        data["next_rotation_at"] = format_time(self.next_rotation_at)
        if self.rotation_id is not None:
            data["rotation_id"] = self.rotation_id
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, path: str) -> SecretRecord:
        """Read a record back; `InvalidVaultData` naming `path` and the field if malformed."""

        def bad(what: str) -> InvalidVaultData:
            return InvalidVaultData(f"field {what} is missing or malformed", path=path)

        raw_ring = data.get("keyring")
        if not isinstance(raw_ring, list) or not raw_ring:
            raise bad("keyring")
        entries = []
        for index, raw in enumerate(raw_ring):
            if not isinstance(raw, Mapping):
                raise bad(f"keyring[{index}]")
            kid, value = raw.get("kid"), raw.get("value")
            if not isinstance(kid, str) or not isinstance(value, str):
                raise bad(f"keyring[{index}]")
            created_at = _read_time(raw, "created_at")
            if created_at is None:
                raise bad(f"keyring[{index}].created_at")
            public = {name: raw[name] for name in PUBLIC_FIELDS if name in raw}
            entries.append(KeyEntry(kid, SecretValue(value), created_at, public))
        if data.get("kid") != entries[0].kid:
            raise bad("kid (it does not match keyring[0])")
        rotated_at = _read_time(data, "rotated_at")
        next_rotation_at = _read_time(data, "next_rotation_at")
        if rotated_at is None:
            raise bad("rotated_at")
        if next_rotation_at is None:
            raise bad("next_rotation_at")
        rotation_id = data.get("rotation_id")
        return cls(
            tuple(entries),
            rotated_at,
            next_rotation_at,
            rotation_id if isinstance(rotation_id, str) else None,
        )


def _read_time(data: Mapping[str, Any], name: str) -> datetime | None:
    text = data.get(name)
    if not isinstance(text, str):
        return None
    try:
        return parse_time(text)
    except ValueError:
        return None
