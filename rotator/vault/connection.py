"""A connection to Vault: address, TLS, namespace and the token, for many threads.

hvac clients hold a `requests.Session`, which is not documented as safe to
share between threads, so each thread gets a client of its own; they share
the token, which a token file can replace while the daemon runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac

from rotator.config import VaultConfig
from rotator.errors import AuthenticationFailed, ConfigError, PermissionDenied, RotatorError
from rotator.vault.errors import translate_errors

__all__ = ["TokenInfo", "VaultConnection", "VaultHealth"]


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
    """Hands out authenticated hvac clients, one per thread."""

    def __init__(self, config: VaultConfig) -> None:
        self.config = config
        self._local = threading.local()
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_file_mtime: float | None = None

    @property
    def address(self) -> str:
        return self.config.address

    def _current_token(self) -> str:
        auth = self.config.auth
        if auth.token is not None:
            return auth.token.get_secret_value()
        token_file = auth.token_file
        if token_file is None:  # guarded by the config's validation
            raise ConfigError("no token configured", key="vault.auth")
        with self._lock:
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

    def _verify(self) -> bool | str:
        tls = self.config.tls
        if not tls.verify:
            return False
        if tls.ca_cert is not None:
            return str(tls.ca_cert)
        return True

    def client(self) -> hvac.Client:
        """This thread's client, with the current token."""
        token = self._current_token()
        client: hvac.Client | None = getattr(self._local, "client", None)
        if client is None:
            tls = self.config.tls
            cert = (
                (str(tls.client_cert), str(tls.client_key))
                if tls.client_cert is not None and tls.client_key is not None
                else None
            )
            client = hvac.Client(
                url=self.config.address,
                token=token,
                namespace=self.config.namespace,
                verify=self._verify(),
                cert=cert,
                timeout=self.config.timeout.total_seconds(),
            )
            self._local.client = client
        elif client.token != token:
            client.token = token
        return client

    def lookup_self(self) -> TokenInfo:
        """Check the token; `AuthenticationFailed` if Vault does not accept it."""
        client = self.client()
        try:
            with translate_errors("auth/token/lookup-self", "read"):
                response = client.auth.token.lookup_self()
        except PermissionDenied:
            raise AuthenticationFailed(
                "Vault does not accept the token (invalid, expired or revoked)",
                path="auth/token/lookup-self",
            ) from None
        return TokenInfo(response.get("data") or {})

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
