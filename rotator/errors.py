"""rotator's exceptions: one tree, one base class.

Every error names what it is about (the config key, the Vault path) in its
message and knows the exit code the CLI turns it into. No message ever holds
a secret value: errors are built from paths, names and Vault's own error
strings, and those strings are scrubbed before they are logged.

::

    RotatorError                    exit 1
    +-- ConfigError                 exit 2  the config file or a CLI argument is wrong
    +-- VaultError                  exit 1  Vault refused or failed; carries `path`
        +-- VaultUnavailable                transient: unreachable, timeout, 5xx, 429
        +-- VaultSealed                     transient: sealed or standby without a leader
        +-- AuthenticationFailed            the token is invalid or expired, a login failed
        +-- PermissionDenied                names the path and the missing capability
        +-- EngineNotMounted                no secrets engine at the mount
        +-- CasConflict                     a peer wrote a newer version first
        +-- NotManaged              exit 2  a secret rotator did not create, `adopt` not set
        +-- InvalidVaultData        exit 2  Vault answered something rotator cannot read

Only the CLI exits the process; everything else raises.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "CasConflict",
    "ConfigError",
    "EngineNotMounted",
    "InvalidVaultData",
    "NotManaged",
    "PermissionDenied",
    "RotatorError",
    "VaultError",
    "VaultSealed",
    "VaultUnavailable",
]


class RotatorError(Exception):
    """Base class of every error rotator raises on purpose."""

    exit_code: int = 1
    #: Whether trying the same operation again later may succeed.
    transient: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(RotatorError):
    """The configuration (file, environment or CLI argument) is invalid.

    `key` is the dotted config key, such as ``secrets[0].generator.bytes``.
    """

    exit_code = 2

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key


class VaultError(RotatorError):
    """Vault refused a request or could not be reached.

    `path` is the Vault API path the request was for (``secret/data/apps/web``).
    """

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class VaultUnavailable(VaultError):
    """Vault could not be reached, timed out, or answered 5xx or 429."""

    transient = True


class VaultSealed(VaultError):
    """Vault is sealed (or has no active node)."""

    transient = True


class AuthenticationFailed(VaultError):
    """The token is invalid or expired, or a login was refused.

    `transient` when rotator can log in again by itself (AppRole,
    Kubernetes, JWT); a fixed token that expired stays expired.
    """

    def __init__(self, message: str, *, path: str, transient: bool = False) -> None:
        super().__init__(message, path=path)
        self.transient = transient


class PermissionDenied(VaultError):
    """The token lacks a capability on a path."""

    def __init__(self, *, path: str, capability: str) -> None:
        super().__init__(
            f"permission denied: the token lacks the {capability!r} capability", path=path
        )
        self.capability = capability


class EngineNotMounted(VaultError):
    """No secrets engine of the expected type is mounted where the config says."""


class CasConflict(VaultError):
    """A check-and-set write lost: a peer wrote a newer version first."""

    def __init__(self, *, path: str, expected_version: int) -> None:
        super().__init__(
            f"check-and-set conflict: version {expected_version} is no longer the current one",
            path=path,
        )
        self.expected_version = expected_version


class NotManaged(VaultError):
    """A secret exists at the path but rotator does not manage it."""

    exit_code = 2


class InvalidVaultData(VaultError):
    """Vault returned data that is not in the shape rotator wrote."""

    exit_code = 2
