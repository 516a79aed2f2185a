"""hvac's and requests' exceptions become rotator's, naming the path (pure: no server)."""

from __future__ import annotations

import hvac.exceptions
import pytest
import requests

from rotator.errors import (
    CasConflict,
    EngineNotMounted,
    PermissionDenied,
    RotatorError,
    VaultError,
    VaultSealed,
    VaultUnavailable,
)
from rotator.vault.errors import NotFound, translate_errors

PATH = "secret/data/apps/web"


def translated(exc: BaseException, **kwargs: int) -> BaseException:
    with (
        pytest.raises((RotatorError, NotFound)) as info,
        translate_errors(PATH, "update", **kwargs),
    ):
        raise exc
    return info.value


@pytest.mark.parametrize(
    ("raised", "expected", "transient"),
    [
        (hvac.exceptions.Forbidden(errors=["permission denied"]), PermissionDenied, False),
        (hvac.exceptions.VaultDown(errors=["Vault is sealed"]), VaultSealed, True),
        (hvac.exceptions.VaultDown(errors=["no active node"]), VaultUnavailable, True),
        (hvac.exceptions.InternalServerError(errors=["boom"]), VaultUnavailable, True),
        (hvac.exceptions.BadGateway(), VaultUnavailable, True),
        (
            hvac.exceptions.RateLimitExceeded(errors=["rate limit quota exceeded"]),
            VaultUnavailable,
            True,
        ),
        (hvac.exceptions.InvalidRequest(errors=["bad thing"]), VaultError, False),
        (requests.exceptions.ConnectionError("refused"), VaultUnavailable, True),
        (requests.exceptions.ReadTimeout("slow"), VaultUnavailable, True),
        (requests.exceptions.SSLError("certificate verify failed"), VaultError, False),
    ],
)
def test_each_failure_has_its_own_error_naming_the_path(
    raised: BaseException, expected: type[RotatorError], transient: bool
) -> None:
    error = translated(raised)
    assert type(error) is expected
    assert isinstance(error, RotatorError)
    assert error.transient is transient
    assert str(error).startswith(f"{PATH}: ")


def test_permission_denied_names_the_capability() -> None:
    error = translated(hvac.exceptions.Forbidden(errors=["permission denied"]))
    assert isinstance(error, PermissionDenied)
    assert error.capability == "update"
    assert "'update' capability" in str(error)


def test_a_lost_check_and_set_is_a_conflict_only_when_one_was_sent() -> None:
    raised = hvac.exceptions.InvalidRequest(
        errors=["check-and-set parameter did not match the current version"]
    )
    assert isinstance(translated(raised, expected_version=3), CasConflict)
    assert type(translated(raised)) is VaultError


def test_404_is_not_found_unless_nothing_is_mounted() -> None:
    assert isinstance(translated(hvac.exceptions.InvalidPath()), NotFound)
    unmounted = translated(
        hvac.exceptions.InvalidPath(
            errors=["no handler for route 'nope/data/x'. route entry not found."]
        )
    )
    assert isinstance(unmounted, EngineNotMounted)
    assert "'secret'" in str(unmounted)
