"""KV v1 and transit, against real OpenBao."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from collections.abc import Callable
from typing import Any

import hvac
import pytest

from rotator.clock import parse_time
from tests.conftest import ConfigWriter, DaemonProcess, run_cli


@pytest.fixture
def kv1_mount(root_client: hvac.Client) -> str:
    mount = f"kv1-{uuid.uuid4().hex[:6]}"
    root_client.sys.enable_secrets_engine("kv", path=mount, options={"version": "1"})
    return mount


@pytest.fixture
def transit_mount(root_client: hvac.Client) -> str:
    mount = f"transit-{uuid.uuid4().hex[:6]}"
    root_client.sys.enable_secrets_engine("transit", path=mount)
    return mount


def test_kv1_keeps_the_same_fields_without_versions(
    root_client: hvac.Client, kv1_mount: str, write_config: ConfigWriter
) -> None:
    config = write_config(
        [
            {
                "name": "one",
                "path": "app/key",
                "mount": kv1_mount,
                "engine": "kv1",
                "keep_previous": 2,
                "generator": {"kind": "hmac_key"},
                "schedule": {"every": "6h"},
            }
        ]
    )
    seen = []
    for expected in (1, 2, 3, 4):
        done = run_cli("-c", config, "rotate", "one")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"rotated to version {expected}" in done.stdout
        data = root_client.secrets.kv.v1.read_secret(path="app/key", mount_point=kv1_mount)["data"]
        seen.append(data)
    last = seen[-1]
    assert last["managed_by"] == "rotator"
    assert last["version"] == 4
    assert last["previous"] == seen[-2]["current"]
    assert [k["value"] for k in last["keyring"]] == [s["current"] for s in reversed(seen[1:])]
    assert parse_time(last["next_rotation_at"]) > parse_time(last["rotated_at"])
    status = run_cli("-c", config, "status")
    assert "kv1" in status.stdout
    assert status.returncode == 0
    refused = run_cli("-c", config, "rollback", "one")
    assert refused.returncode == 2
    assert "rollback needs KV v2" in refused.stderr


def test_kv1_refuses_a_secret_it_does_not_manage(
    root_client: hvac.Client, kv1_mount: str, write_config: ConfigWriter
) -> None:
    root_client.secrets.kv.v1.create_or_update_secret(
        path="theirs", secret={"pw": "x-123456"}, mount_point=kv1_mount
    )
    config = write_config(
        [
            {
                "name": "t",
                "path": "theirs",
                "mount": kv1_mount,
                "engine": "kv1",
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
            }
        ]
    )
    done = run_cli("-c", config, "rotate", "t")
    assert done.returncode == 2
    assert "adopt: true" in done.stdout
    data = root_client.secrets.kv.v1.read_secret(path="theirs", mount_point=kv1_mount)["data"]
    assert data == {"pw": "x-123456"}


def encrypt(client: hvac.Client, mount: str, key: str, text: bytes) -> str:
    answer = client.secrets.transit.encrypt_data(
        name=key, plaintext=base64.b64encode(text).decode(), mount_point=mount
    )
    ciphertext: str = answer["data"]["ciphertext"]
    return ciphertext


def decrypts(client: hvac.Client, mount: str, key: str, ciphertext: str) -> bool:
    try:
        client.secrets.transit.decrypt_data(name=key, ciphertext=ciphertext, mount_point=mount)
    except hvac.exceptions.InvalidRequest:
        return False
    return True


@pytest.mark.parametrize("trim", [False, True], ids=["keep", "trim"])
def test_transit_rotates_natively_and_retires_old_versions(
    root_client: hvac.Client, transit_mount: str, write_config: ConfigWriter, trim: bool
) -> None:
    config = write_config(
        [
            {
                "name": "enc",
                "path": "orders",
                "mount": transit_mount,
                "engine": "transit",
                "keep_previous": 1,
                "trim": trim,
                "schedule": {"every": "30d"},
            }
        ]
    )
    ciphertexts = {}
    for version in (1, 2, 3, 4):
        done = run_cli("-c", config, "rotate", "enc")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"rotated to version {version} (kid v{version})" in done.stdout
        ciphertexts[version] = encrypt(root_client, transit_mount, "orders", b"order 42")
        assert ciphertexts[version].startswith(f"vault:v{version}:")
    key = root_client.secrets.transit.read_key(name="orders", mount_point=transit_mount)["data"]
    assert key["latest_version"] == 4
    assert key["min_decryption_version"] == 3  # the newest and keep_previous = 1 older one
    assert decrypts(root_client, transit_mount, "orders", ciphertexts[4])
    assert decrypts(root_client, transit_mount, "orders", ciphertexts[3])
    assert not decrypts(root_client, transit_mount, "orders", ciphertexts[2])
    assert not decrypts(root_client, transit_mount, "orders", ciphertexts[1])
    history = run_cli("-c", config, "history", "enc", "--json")
    states = {entry["version"]: entry["state"] for entry in json.loads(history.stdout)}
    assert states == {4: "current", 3: "kept"}
    # Without trim the retired versions still exist: an operator can bring them back.
    assert key["min_available_version"] == (3 if trim else 0)
    try:
        root_client.secrets.transit.update_key_configuration(
            name="orders", min_decryption_version=1, mount_point=transit_mount
        )
    except hvac.exceptions.InvalidRequest:
        assert trim  # trimmed versions are gone for good
    assert decrypts(root_client, transit_mount, "orders", ciphertexts[1]) is not trim


def test_transit_keys_follow_the_schedule_from_vaults_own_clock(
    root_client: hvac.Client,
    transit_mount: str,
    write_config: ConfigWriter,
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    config = write_config(
        [
            {
                "name": "tick",
                "path": "ticking",
                "mount": transit_mount,
                "engine": "transit",
                "keep_previous": 2,
                "schedule": {"every": "2s"},
            }
        ]
    )
    daemon = start_daemon(config)
    found: list[dict[str, Any]] = daemon.wait_for(
        lambda events: sum(e["event"] == "rotation.succeeded" for e in events) >= 3, timeout=30
    )
    assert daemon.stop() == 0
    succeeded = [e for e in found if e["event"] == "rotation.succeeded"]
    assert succeeded[0]["trigger"] == "initial"
    assert [e["kid"] for e in succeeded[:3]] == ["v1", "v2", "v3"]
    key = root_client.secrets.transit.read_key(name="ticking", mount_point=transit_mount)["data"]
    times = sorted(int(t) for t in key["keys"].values())
    assert all(b - a >= 2 for a, b in itertools.pairwise(times))
    assert key["min_decryption_version"] == max(1, key["latest_version"] - 2)


def test_transit_config_rules_are_checked_at_load(write_config: ConfigWriter) -> None:
    with_generator = write_config(
        [
            {
                "name": "x",
                "path": "k",
                "engine": "transit",
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
            }
        ]
    )
    done = run_cli("-c", with_generator, "validate")
    assert done.returncode == 2
    assert "secrets[x]: generator: a transit key is rotated by Vault itself" in done.stderr
    without = write_config(
        [{"name": "y", "path": "k", "engine": "kv2", "schedule": {"every": "1h"}}], name="b.yaml"
    )
    done = run_cli("-c", without, "validate")
    assert done.returncode == 2
    assert "secrets[y]: generator: required for engine kv2" in done.stderr
