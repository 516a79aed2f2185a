"""Logging in to Vault with AppRole, Kubernetes or JWT.

Each login reads its credential afresh (a secret id file, a projected
service account token), so that what an orchestrator rotates underneath
rotator is picked up at the next login.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hvac

from rotator.config import AppRoleAuth, AuthConfig, JwtAuth, KubernetesAuth, TokenAuth
from rotator.errors import AuthenticationFailed, ConfigError, RotatorError
from rotator.vault.errors import translate_errors

__all__ = ["Login", "can_login", "login"]


@dataclass(frozen=True)
class Login:
    """A token Vault handed out, and its lease. The token never renders."""

    token: str = field(repr=False)
    ttl: int
    renewable: bool
    policies: tuple[str, ...]


def can_login(auth: AuthConfig) -> bool:
    """Whether rotator can get a new token by itself (every method but a fixed token)."""
    return not isinstance(auth, TokenAuth)


def _read(path: Path, key: str) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", key=key) from None
    if not text:
        raise ConfigError(f"{path} is empty", key=key)
    return text


def login(auth: AuthConfig, client: hvac.Client) -> Login:
    """Log in with `auth` through `client` (which holds no token)."""
    path = f"auth/{getattr(auth, 'mount', 'token')}/login"
    try:
        with translate_errors(path, "update"):
            response = _login(auth, client)
    except RotatorError as exc:
        if exc.transient or isinstance(exc, ConfigError):
            raise
        raise AuthenticationFailed(
            f"login with {auth.method} failed: {exc.message}", path=path
        ) from None
    data = response.get("auth") if isinstance(response, dict) else None
    if not isinstance(data, dict) or not data.get("client_token"):
        raise AuthenticationFailed("the login answer holds no token", path=path)
    return Login(
        token=str(data["client_token"]),
        ttl=int(data.get("lease_duration") or 0),
        renewable=bool(data.get("renewable")),
        policies=tuple(data.get("policies") or ()),
    )


def _login(auth: AuthConfig, client: hvac.Client) -> Any:
    if isinstance(auth, AppRoleAuth):
        if auth.secret_id is not None:
            secret_id = auth.secret_id.get_secret_value()
        elif auth.secret_id_file is not None:
            secret_id = _read(auth.secret_id_file, "vault.auth.secret_id_file")
        else:  # the config's validation makes this unreachable
            raise ConfigError("no secret id", key="vault.auth.secret_id")
        return client.auth.approle.login(
            role_id=auth.role_id, secret_id=secret_id, use_token=False, mount_point=auth.mount
        )
    if isinstance(auth, KubernetesAuth):
        jwt = _read(auth.jwt_file, "vault.auth.jwt_file")
        return client.auth.kubernetes.login(
            role=auth.role, jwt=jwt, use_token=False, mount_point=auth.mount
        )
    if isinstance(auth, JwtAuth):
        jwt = _read(auth.jwt_file, "vault.auth.jwt_file")
        return client.auth.jwt.jwt_login(role=auth.role, jwt=jwt, use_token=False, path=auth.mount)
    raise ConfigError(f"auth method {auth.method!r} does not log in", key="vault.auth.method")
