"""Turn hvac's and requests' exceptions into rotator's, naming the path.

Vault's own error strings are kept (they say what went wrong) but never the
request or response body, which could hold a value.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import hvac.exceptions
import requests

from rotator.errors import (
    CasConflict,
    EngineNotMounted,
    PermissionDenied,
    VaultError,
    VaultSealed,
    VaultUnavailable,
)

__all__ = ["NotFound", "translate_errors"]


class NotFound(Exception):
    """Internal: Vault answered 404 for a path that is mounted. Callers catch it."""


def _vault_messages(exc: hvac.exceptions.VaultError) -> str:
    errors = exc.errors or []
    text = "; ".join(str(item) for item in errors if item)
    if not text and exc.args and exc.args[0]:
        text = str(exc.args[0])  # hvac's own validation puts its message here
    return text or type(exc).__name__


@contextmanager
def translate_errors(
    path: str, capability: str, *, expected_version: int | None = None
) -> Iterator[None]:
    """Map exceptions raised inside the block to rotator's error tree.

    `path` is the Vault API path of the request; `capability` the one it
    needs (``read``, ``create``, ``update``, ...), named if it is denied.
    A 404 becomes `NotFound`, except "no handler for route", which means
    nothing is mounted there (`EngineNotMounted`).
    """
    try:
        yield
    except hvac.exceptions.Forbidden:
        raise PermissionDenied(path=path, capability=capability) from None
    except hvac.exceptions.InvalidPath as exc:
        message = _vault_messages(exc)
        if "no handler for route" in message:
            mount = path.split("/", 1)[0]
            raise EngineNotMounted(
                f"no secrets engine is mounted at {mount!r}", path=path
            ) from None
        raise NotFound(path) from None
    except hvac.exceptions.InvalidRequest as exc:
        message = _vault_messages(exc)
        if "check-and-set" in message and expected_version is not None:
            raise CasConflict(path=path, expected_version=expected_version) from None
        raise VaultError(f"Vault refused the request: {message}", path=path) from None
    except hvac.exceptions.VaultDown as exc:
        message = _vault_messages(exc)
        if "sealed" in message.lower():
            raise VaultSealed("Vault is sealed", path=path) from None
        raise VaultUnavailable(f"Vault is unavailable: {message}", path=path) from None
    except (
        hvac.exceptions.InternalServerError,
        hvac.exceptions.BadGateway,
        hvac.exceptions.RateLimitExceeded,
        hvac.exceptions.PreconditionFailed,
        hvac.exceptions.UnexpectedError,
    ) as exc:
        raise VaultUnavailable(
            f"Vault answered {type(exc).__name__}: {_vault_messages(exc)}", path=path
        ) from None
    except hvac.exceptions.VaultError as exc:
        raise VaultError(
            f"Vault answered {type(exc).__name__}: {_vault_messages(exc)}", path=path
        ) from None
    except requests.exceptions.SSLError as exc:
        raise VaultError(f"TLS failed: {_first_line(exc)}", path=path) from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise VaultUnavailable(f"cannot reach Vault: {_first_line(exc)}", path=path) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]
