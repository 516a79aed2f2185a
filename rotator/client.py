"""For the apps that read what rotator writes: a cached keyring, signatures, framework fallbacks.

Rotation is only half the job: an app must pick up the new value without a
restart and keep accepting the old one for a while. This module needs hvac
only (and `cryptography` for `Keyring.multi_fernet`)::

    reader = SecretReader(hvac.Client(url=..., token=...), "apps/web/session")
    ring = reader.keyring()             # cached; refreshed when the secret is due
    app.session_interface = flask_session_interface(reader)  # Flask sessions follow rotations

    signature = ring.sign(b"payload")   # "kid.signature": verifiable after a rotation
    ring.verify(b"payload", signature)  # against every key in the keyring

`check_api_key` rejects a mistyped or made-up ``api_key`` before any lookup;
`verify_webhook` checks the signature rotator puts on its webhooks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rotator.clock import parse_time
from rotator.generators import check_api_key

if TYPE_CHECKING:
    import hvac
    from cryptography.fernet import MultiFernet
    from flask import Flask
    from flask.sessions import SessionInterface
    from itsdangerous import URLSafeTimedSerializer

__all__ = [
    "Key",
    "Keyring",
    "KeyringUnavailable",
    "SecretReader",
    "check_api_key",
    "flask_session_interface",
    "sign_webhook",
    "verify_webhook",
]

_log = logging.getLogger("rotator.client")


class KeyringUnavailable(Exception):
    """The secret could not be read and no earlier copy is cached."""


@dataclass(frozen=True)
class Key:
    """One key of a keyring. `value` never shows in a repr."""

    kid: str
    value: str = field(repr=False)
    created_at: datetime | None = None
    public_jwk: Mapping[str, Any] | None = None
    public_key_pem: str | None = None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class Keyring:
    """The keys of a managed secret, newest first: ``current`` and the ones kept before it."""

    keys: tuple[Key, ...]
    version: int | None = None
    rotated_at: datetime | None = None
    next_rotation_at: datetime | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any], version: int | None = None) -> Keyring:
        """Build a keyring from the data rotator writes (KV v2's ``data.data``)."""
        raw = data.get("keyring")
        if not isinstance(raw, list) or not raw:
            if isinstance(data.get("current"), str):
                raw = [{"kid": data.get("kid") or "current", "value": data["current"]}]
            else:
                raise ValueError("not a rotator secret: no keyring and no current value")
        keys = []
        for entry in raw:
            created = entry.get("created_at")
            keys.append(
                Key(
                    kid=str(entry["kid"]),
                    value=str(entry["value"]),
                    created_at=parse_time(created) if isinstance(created, str) else None,
                    public_jwk=entry.get("public_jwk"),
                    public_key_pem=entry.get("public_key_pem"),
                )
            )
        rotated = data.get("rotated_at")
        due = data.get("next_rotation_at")
        return cls(
            keys=tuple(keys),
            version=version,
            rotated_at=parse_time(rotated) if isinstance(rotated, str) else None,
            next_rotation_at=parse_time(due) if isinstance(due, str) else None,
        )

    @property
    def current(self) -> Key:
        return self.keys[0]

    @property
    def previous(self) -> Key | None:
        return self.keys[1] if len(self.keys) > 1 else None

    def by_kid(self, kid: str) -> Key | None:
        for key in self.keys:
            if key.kid == kid:
                return key
        return None

    # -- signatures --------------------------------------------------------

    @staticmethod
    def _mac(key: Key, message: bytes) -> bytes:
        return hmac.new(key.value.encode("utf-8"), message, hashlib.sha256).digest()

    def sign(self, message: bytes) -> str:
        """``kid.signature``: HMAC-SHA256 of `message` under the current key (its text as UTF-8)."""
        return f"{self.current.kid}.{_b64url(self._mac(self.current, message))}"

    def verify(self, message: bytes, signature: str) -> bool:
        """Whether `signature` was made by any key of the keyring, in constant time per key.

        When the signature names a kid the keyring holds, only that key is
        tried; otherwise every key is.
        """
        kid, _, mac = signature.partition(".")
        if not mac:
            return False
        try:
            given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
        except (ValueError, TypeError):
            return False
        named = self.by_kid(kid)
        candidates = (named,) if named is not None else self.keys
        matched = False
        for key in candidates:
            matched |= hmac.compare_digest(self._mac(key, message), given)
        return matched

    # -- frameworks --------------------------------------------------------

    def fallbacks(self) -> list[str]:
        """The values before the current one, newest first."""
        return [key.value for key in self.keys[1:]]

    def flask_config(self) -> dict[str, Any]:
        """``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` for ``app.config.update`` (Flask 3.1+)."""
        return {"SECRET_KEY": self.current.value, "SECRET_KEY_FALLBACKS": self.fallbacks()}

    def django_settings(self) -> dict[str, Any]:
        """``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` for Django settings (4.1+)."""
        return {"SECRET_KEY": self.current.value, "SECRET_KEY_FALLBACKS": self.fallbacks()}

    def multi_fernet(self) -> MultiFernet:
        """A `MultiFernet` that encrypts with the current key and decrypts with any (fernet_key)."""
        from cryptography.fernet import Fernet, MultiFernet  # noqa: PLC0415 (optional use)

        return MultiFernet([Fernet(key.value) for key in self.keys])

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """A JWKS document with the public keys of the keyring (ed25519 and rsa)."""
        return {"keys": [dict(key.public_jwk) for key in self.keys if key.public_jwk]}


class SecretReader:
    """Reads a rotator-managed secret, caches it, and refreshes it when it is due.

    The cached keyring is refreshed when its ``next_rotation_at`` has passed
    (at most once every `min_refresh` seconds while the rotation has not
    landed yet) or after `refresh_interval` seconds, whichever comes first.
    If Vault cannot be reached, the cached keyring keeps being served and a
    warning says so; only a reader that never read anything raises
    `KeyringUnavailable`. Thread-safe.
    """

    def __init__(
        self,
        client: hvac.Client | Callable[[], hvac.Client],
        path: str,
        *,
        mount: str = "secret",
        engine: str = "kv2",
        refresh_interval: float = 300.0,
        min_refresh: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if engine not in {"kv2", "kv1"}:
            raise ValueError(f"engine must be kv2 or kv1, not {engine!r}")
        self._client = client
        self.path = path
        self.mount = mount
        self.engine = engine
        self._refresh_interval = refresh_interval
        self._min_refresh = min_refresh
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: Keyring | None = None
        self._fetched_at = 0.0
        self._stale = False

    def _hvac(self) -> hvac.Client:
        return self._client() if callable(self._client) else self._client

    def _fetch(self) -> Keyring:
        client = self._hvac()
        if self.engine == "kv1":
            answer = client.secrets.kv.v1.read_secret(path=self.path, mount_point=self.mount)
            data = answer["data"]
            return Keyring.from_data(data, version=data.get("version"))
        answer = client.secrets.kv.v2.read_secret_version(
            path=self.path, mount_point=self.mount, raise_on_deleted_version=True
        )
        return Keyring.from_data(
            answer["data"]["data"], version=answer["data"]["metadata"]["version"]
        )

    def _wants_refresh(self, now: float) -> bool:
        cached = self._cached
        if cached is None:
            return True
        since = now - self._fetched_at
        if since >= self._refresh_interval:
            return True
        due = cached.next_rotation_at
        return due is not None and now >= due.timestamp() and since >= self._min_refresh

    def keyring(self) -> Keyring:
        """The current keyring, from the cache when it is fresh."""
        with self._lock:
            now = self._clock()
            if not self._wants_refresh(now):
                assert self._cached is not None  # noqa: S101 (checked by _wants_refresh)
                return self._cached
            try:
                fresh = self._fetch()
            except Exception as exc:  # Vault down, sealed, denied: serve what we have
                self._fetched_at = now
                if self._cached is None:
                    raise KeyringUnavailable(
                        f"cannot read {self.mount}/{self.path}: {type(exc).__name__}"
                    ) from None
                if not self._stale:
                    _log.warning(
                        "rotator.client: cannot refresh %s/%s (%s); serving the cached keyring "
                        "of version %s",
                        self.mount,
                        self.path,
                        type(exc).__name__,
                        self._cached.version,
                    )
                self._stale = True
                return self._cached
            if self._stale:
                _log.warning("rotator.client: %s/%s readable again", self.mount, self.path)
            self._stale = False
            self._cached, self._fetched_at = fresh, now
            return fresh

    def invalidate(self) -> None:
        """Read again at the next call (for example after a signature failed to verify)."""
        with self._lock:
            self._fetched_at = float("-inf")


# -- Flask --------------------------------------------------------------------


def flask_session_interface(reader: SecretReader) -> SessionInterface:
    """A Flask session interface that signs with the reader's current key.

    Flask opens the session before any ``before_request`` handler runs, so
    keys set there arrive one request late; this interface sets
    ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` from the keyring each time
    Flask asks for its signing serializer::

        app.session_interface = flask_session_interface(reader)
    """
    from flask.sessions import SecureCookieSessionInterface  # noqa: PLC0415 (optional use)

    class RotatingSessionInterface(SecureCookieSessionInterface):
        def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
            app.config.update(reader.keyring().flask_config())
            return super().get_signing_serializer(app)

    return RotatingSessionInterface()


# -- webhooks ----------------------------------------------------------------


def sign_webhook(body: bytes, timestamp: int, signing_key: str) -> str:
    """The ``X-Rotator-Signature`` header: ``v1=`` + hex HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(signing_key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify_webhook(
    body: bytes,
    timestamp: str,
    signature: str,
    signing_key: str,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """Check a webhook from rotator: its signature, and that it is at most `tolerance` s old."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance:
        return False
    return hmac.compare_digest(sign_webhook(body, sent, signing_key), signature)
