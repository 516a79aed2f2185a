from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rotator.errors import InvalidVaultData
from rotator.record import KeyEntry, SecretRecord
from rotator.values import SecretValue

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def entry(n: int) -> KeyEntry:
    return KeyEntry(
        kid=f"kid{n}", value=SecretValue(f"value-{n}"), created_at=T0 + timedelta(hours=n)
    )


def test_rotating_keeps_keep_previous_older_keys_newest_first() -> None:
    record = SecretRecord.first(entry(0), now=T0, next_rotation_at=T0 + timedelta(hours=1))
    for n in range(1, 5):
        record = record.rotated(
            entry(n),
            now=T0 + timedelta(hours=n),
            next_rotation_at=T0 + timedelta(hours=n + 1),
            keep_previous=2,
        )
    assert [e.kid for e in record.keyring] == ["kid4", "kid3", "kid2"]
    data = record.to_data()
    assert data["current"] == "value-4"
    assert data["kid"] == "kid4"
    assert data["previous"] == "value-3"
    assert data["previous_kid"] == "kid3"
    assert data["rotated_at"] == "2026-01-01T04:00:00Z"
    assert data["next_rotation_at"] == "2026-01-01T05:00:00Z"
    assert [k["kid"] for k in data["keyring"]] == ["kid4", "kid3", "kid2"]


def test_keep_previous_zero_keeps_only_current() -> None:
    record = SecretRecord.first(entry(0), now=T0, next_rotation_at=T0)
    record = record.rotated(entry(1), now=T0, next_rotation_at=T0, keep_previous=0)
    data = record.to_data()
    assert "previous" not in data
    assert "previous_kid" not in data
    assert len(data["keyring"]) == 1


def test_the_first_record_has_no_previous() -> None:
    data = SecretRecord.first(entry(0), now=T0, next_rotation_at=T0).to_data()
    assert "previous" not in data
    assert data["keyring"][0]["value"] == "value-0"


def test_round_trip_through_vault_data() -> None:
    record = SecretRecord.first(entry(0), now=T0, next_rotation_at=T0 + timedelta(days=1))
    record = record.rotated(
        entry(1), now=T0, next_rotation_at=T0 + timedelta(days=1), keep_previous=1
    )
    again = SecretRecord.from_data(record.to_data(), path="secret/data/x")
    assert again == record


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("keyring"), "keyring"),
        (lambda d: d.update(keyring=[]), "keyring"),
        (lambda d: d.update(keyring=["nope"]), "keyring[0]"),
        (lambda d: d["keyring"][0].pop("created_at"), "keyring[0].created_at"),
        (lambda d: d.update(kid="other"), "kid"),
        (lambda d: d.update(rotated_at="yesterday"), "rotated_at"),
        (lambda d: d.pop("next_rotation_at"), "next_rotation_at"),
    ],
)
def test_malformed_data_names_the_path_and_field(mutate: object, field: str) -> None:
    data = SecretRecord.first(entry(0), now=T0, next_rotation_at=T0).to_data()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(InvalidVaultData) as info:
        SecretRecord.from_data(data, path="secret/data/apps/x")
    assert "secret/data/apps/x" in str(info.value)
    assert field in str(info.value)
    assert "value-0" not in str(info.value)
    assert info.value.exit_code == 2
