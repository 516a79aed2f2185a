"""A connection to Vault: address, TLS, namespace, and a token kept alive.

hvac clients hold a `requests.Session`, which is not documented as safe to
share between threads, so each thread gets a client of its own; they share
one token. With a fixed token (``method: token``) that token comes from the
config or a file re-read when it changes. With a login method (AppRole,
Kubernetes, JWT) rotator logs in when it needs a token, renews it when two
thirds of its TTL have passed, and logs in again when renewal stops
extending it (its ``max_ttl`` is near), so that a daemon that runs for a
year never meets an expired token. `maintain` does that work; the daemon
calls it every second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import requests

from rotator.config import TokenAuth, VaultConfig
from rotator.errors import (
    AuthenticationFailed,
    ConfigError,
    PermissionDenied,
    RotatorError,
)
from rotator.vault.auth import can_login, login
from rotator.vault.errors import translate_errors

__all__ = ["EventSink", "TokenInfo", "VaultConnection", "VaultHealth"]

#: Receives the connection's audit events: ``sink("vault.token_renewed", ttl=...)``.
EventSink = Callable[..., None]

#: Renew (or log in again) once this share of a token's TTL has passed...
RENEW_AT = 2 / 3
#: ...and at least this many seconds before it ends (`maintain` runs once a second).
RENEW_MARGIN_SECONDS = 2.0
#: After a failed renewal or login, try again this soon (seconds).
RETRY_SECONDS = 5.0


def _act_after(ttl: float) -> float:
    """Seconds from now to renew a token that lives `ttl` more seconds."""
    return max(0.5, min(ttl * RENEW_AT, ttl - RENEW_MARGIN_SECONDS))


@dataclass(frozen=True)
class VaultHealth:
    """What a probe found: reachable, unsealed, and accepting the token."""

    reachable: bool
    sealed: bool | None
    authenticated: bool
    token_ttl: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.reachable and self.sealed is False and self.authenticated


class TokenInfo:
    """What Vault says about the token (never the token itself)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.accessor: str = str(data.get("accessor") or "")
        self.policies: tuple[str, ...] = tuple(data.get("policies") or ())
        self.ttl: int = int(data.get("ttl") or 0)
        self.renewable: bool = bool(data.get("renewable"))
        self.display_name: str = str(data.get("display_name") or "")

    def __repr__(self) -> str:
        return f"TokenInfo(display_name={self.display_name!r}, policies={self.policies!r})"


class VaultConnection:
    """Hands out authenticated hvac clients, one per thread, and keeps the token alive."""

    def __init__(self, config: VaultConfig, *, events: EventSink | None = None) -> None:
        self.config = config
        self._events: EventSink = events or (lambda event, **fields: None)
        self._local = threading.local()
        self._lock = threading.RLock()
        self._token: str | None = None
        self._token_file_mtime: float | None = None
        self._announced = False
        # The lease: when to act next, and whether that is a renewal or a login.
        self._next_action_at: float | None = None
        self._next_action: str | None = None
        self._creation_ttl = 0

    @property
    def address(self) -> str:
        return self.config.address

    @property
    def can_login(self) -> bool:
        return can_login(self.config.auth)

    # -- the token ---------------------------------------------------------

    def _fixed_token(self, auth: TokenAuth) -> str:
        if auth.token is not None:
            return auth.token.get_secret_value()
        token_file = auth.token_file
        if token_file is None:  # guarded by the config's validation
            raise ConfigError("no token configured", key="vault.auth")
        try:
            mtime = token_file.stat().st_mtime
            if self._token is None or mtime != self._token_file_mtime:
                self._token = _read_token_file(token_file)
                self._token_file_mtime = mtime
        except OSError as exc:
            raise ConfigError(
                f"cannot read token file {token_file}: {exc.strerror}",
                key="vault.auth.token_file",
            ) from None
        return self._token

    def _current_token(self) -> str:
        auth = self.config.auth
        with self._lock:
            if isinstance(auth, TokenAuth):
                return self._fixed_token(auth)
            if self._token is None:
                self._login()
            assert self._token is not None  # noqa: S101 (set by _login or it raised)
            return self._token

    def _login(self) -> None:
        """Log in (lock held) and plan the renewal."""
        result = login(self.config.auth, self._new_client(token=None))
        self._token = result.token
        self._creation_ttl = result.ttl
        self._plan(result.ttl, result.renewable)
        self._events(
            "vault.authenticated",
            method=self.config.auth.method,
            policies=list(result.policies),
            ttl=result.ttl,
            renewable=result.renewable,
        )
        self._announced = True

    def _plan(self, ttl: int, renewable: bool) -> None:
        if ttl <= 0:
            self._next_action_at, self._next_action = None, None
            return
        self._next_action_at = time.monotonic() + _act_after(ttl)
        if renewable:
            self._next_action = "renew"
        else:
            self._next_action = "login" if self.can_login else None

    def invalidate(self) -> None:
        """Forget the token: the next request logs in again (or re-reads the token file)."""
        with self._lock:
            self._token = None
            self._token_file_mtime = None

    def maintain(self) -> None:
        """Renew the token or log in again when it is time; never raises."""
        with self._lock:
            due = self._next_action_at
            action = self._next_action
            if due is None or action is None or time.monotonic() < due:
                return
            try:
                if action == "renew":
                    self._renew()
                else:
                    self._login()
            except RotatorError as exc:
                self._events(
                    "vault.token_renewal_failed",
                    action=action,
                    error=str(exc),
                    error_type=type(exc).__name__,
                )
                if isinstance(exc, AuthenticationFailed) and self.can_login:
                    self._token = None  # revoked or expired: the next use logs in
                    self._next_action_at, self._next_action = None, None
                else:
                    self._next_action_at = time.monotonic() + RETRY_SECONDS

    def _renew(self) -> None:
        client = self.client()
        try:
            with translate_errors("auth/token/renew-self", "update"):
                response = client.auth.token.renew_self()
        except PermissionDenied:
            raise self._refused("auth/token/renew-self") from None
        auth = response.get("auth") if isinstance(response, dict) else None
        ttl = int((auth or {}).get("lease_duration") or 0)
        renewable = bool((auth or {}).get("renewable"))
        self._events("vault.token_renewed", ttl=ttl, renewable=renewable)
        if self.can_login and ttl < self._creation_ttl:
            # Renewal no longer gives a full TTL: max_ttl is near. Log in before it.
            self._next_action_at = time.monotonic() + _act_after(ttl)
            self._next_action = "login"
        else:
            self._plan(ttl, renewable)

    # -- clients -----------------------------------------------------------

    def _verify(self) -> bool | str:
        tls = self.config.tls
        if not tls.verify:
            return False
        if tls.ca_cert is not None:
            return str(tls.ca_cert)
        return True

    def _new_client(self, token: str | None) -> hvac.Client:
        tls = self.config.tls
        cert = (
            (str(tls.client_cert), str(tls.client_key))
            if tls.client_cert is not None and tls.client_key is not None
            else None
        )
        # requests reads every proxy variable of the environment on every request;
        # read them once here instead (a fifth of a rotation's time otherwise).
        session = requests.Session()
        session.trust_env = False
        session.proxies.update(requests.utils.get_environ_proxies(self.config.address))
        # hvac prefers a given session's own settings to its arguments: set them there.
        session.verify = self._verify()
        session.cert = cert
        return hvac.Client(
            url=self.config.address,
            token=token,
            namespace=self.config.namespace,
            verify=self._verify(),
            cert=cert,
            timeout=self.config.timeout.total_seconds(),
            session=session,
        )

    def client(self) -> hvac.Client:
        """This thread's client, with the current token."""
        token = self._current_token()
        client: hvac.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._new_client(token)
            self._local.client = client
        elif client.token != token:
            client.token = token
        return client

    @contextmanager
    def request(
        self, path: str, capability: str, *, expected_version: int | None = None
    ) -> Iterator[None]:
        """Translate errors of a request; a refusal caused by a dead token says so."""
        try:
            with translate_errors(path, capability, expected_version=expected_version):
                yield
        except PermissionDenied:
            if self._token_accepted():
                raise
            self.invalidate()
            raise self._refused(path) from None

    def _refused(self, path: str) -> AuthenticationFailed:
        """The error for a token Vault no longer takes (a login method can get another)."""
        return AuthenticationFailed(
            "Vault does not accept the token (invalid, expired or revoked)",
            path=path,
            transient=self.can_login,
        )

    def _token_accepted(self) -> bool:
        try:
            self.lookup_self()
        except AuthenticationFailed:
            return False
        except RotatorError:
            return True  # cannot tell; report the original refusal
        return True

    # -- questions ---------------------------------------------------------

    def lookup_self(self) -> TokenInfo:
        """Check the token; `AuthenticationFailed` if Vault does not accept it."""
        client = self.client()
        try:
            with translate_errors("auth/token/lookup-self", "read"):
                response = client.auth.token.lookup_self()
        except PermissionDenied:
            raise self._refused("auth/token/lookup-self") from None
        info = TokenInfo(response.get("data") or {})
        with self._lock:
            if not self.can_login and self._next_action_at is None:
                self._plan(info.ttl, info.renewable)
                self._creation_ttl = info.ttl
            if not self._announced:
                self._announced = True
                self._events(
                    "vault.authenticated",
                    method=self.config.auth.method,
                    policies=list(info.policies),
                    ttl=info.ttl,
                    renewable=info.renewable,
                )
        return info

    def capabilities(self, paths: list[str]) -> dict[str, tuple[str, ...]]:
        """The token's capabilities on each path (``sys/capabilities-self``)."""
        if not paths:
            return {}
        client = self.client()
        with translate_errors("sys/capabilities-self", "update"):
            response = client.adapter.post("/v1/sys/capabilities-self", json={"paths": paths})
        data = response.get("data", response) if isinstance(response, dict) else {}
        return {path: tuple(str(cap) for cap in data.get(path, ()) or ()) for path in paths}

    def probe(self) -> VaultHealth:
        """Ask ``sys/health`` and ``lookup-self``; never raises."""
        try:
            client = self.client()
            with translate_errors("sys/health", "read"):
                response = client.adapter.get("/v1/sys/health", raise_exception=False)
        except RotatorError as exc:
            return VaultHealth(reachable=False, sealed=None, authenticated=False, error=str(exc))
        body = response if isinstance(response, dict) else _json_body(response)
        if body.get("sealed") or body.get("initialized") is False:
            return VaultHealth(
                reachable=True, sealed=True, authenticated=False, error="Vault is sealed"
            )
        try:
            info = self.lookup_self()
        except RotatorError as exc:
            return VaultHealth(reachable=True, sealed=False, authenticated=False, error=str(exc))
        return VaultHealth(reachable=True, sealed=False, authenticated=True, token_ttl=info.ttl)


def _json_body(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _read_token_file(path: Path) -> str:
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise ConfigError(f"token file {path} is empty", key="vault.auth.token_file")
    return token
