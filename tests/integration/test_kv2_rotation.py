"""Rotations against a real OpenBao: the data layout, CAS, ownership."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import hvac
import pytest

from rotator.audit import make_audit_logger
from rotator.clock import parse_time
from rotator.config import AuditConfig, SecretConfig, load_config
from rotator.record import SecretRecord
from rotator.rotation import Outcome, Rotator, Trigger
from rotator.store import StoredSecret, Written
from rotator.vault import KV2Store, VaultConnection
from tests.conftest import ConfigWriter, events, run_cli


def versions(client: hvac.Client, path: str, mount: str = "secret") -> list[dict[str, Any]]:
    meta = client.secrets.kv.v2.read_secret_metadata(path=path, mount_point=mount)["data"]
    return [
        client.secrets.kv.v2.read_secret_version(
            path=path, version=v, mount_point=mount, raise_on_deleted_version=True
        )["data"]["data"]
        for v in range(1, meta["current_version"] + 1)
    ]


def test_three_rotations_keep_the_chain_and_the_clock(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str
) -> None:
    path = f"{prefix}/web"
    config = write_config(
        [
            {
                "name": "web",
                "path": path,
                "keep_previous": 1,
                "generator": {"kind": "token"},
                "schedule": {"every": "6h"},
            }
        ]
    )
    for expected_version in (1, 2, 3):
        done = run_cli("-c", config, "rotate", "web")
        assert done.returncode == 0, done.stderr
        assert f"rotated to version {expected_version}" in done.stdout

    history = versions(root_client, path)
    assert len(history) == 3
    assert "previous" not in history[0]
    for before, after in itertools.pairwise(history):
        assert after["previous"] == before["current"]
        assert after["previous_kid"] == before["kid"]
    for data in history:
        assert data["keyring"][0] == {
            "kid": data["kid"],
            "value": data["current"],
            "created_at": data["rotated_at"],
        }
        assert len(data["keyring"]) <= 2  # keep_previous + 1
        assert parse_time(data["next_rotation_at"]) - parse_time(data["rotated_at"]) == timedelta(
            hours=6
        )
    assert [k["kid"] for k in history[2]["keyring"]] == [history[2]["kid"], history[1]["kid"]]

    meta = root_client.secrets.kv.v2.read_secret_metadata(path=path)["data"]
    custom = meta["custom_metadata"]
    assert custom["managed-by"] == "rotator"
    assert custom["generator"] == "token"
    assert custom["rotated-at"] == history[2]["rotated_at"]
    assert custom["next-rotation-at"] == history[2]["next_rotation_at"]
    assert custom["rotated-version"] == "3"
    assert custom["rotation-id"]
    assert meta["max_versions"] == 10


def test_a_cas_required_mount_works(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str
) -> None:
    mount = f"kvcas-{prefix.rsplit('-', 1)[1]}"
    root_client.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
    root_client.secrets.kv.v2.configure(cas_required=True, mount_point=mount)
    config = write_config(
        [
            {
                "name": "s",
                "path": "app/key",
                "mount": mount,
                "generator": {"kind": "hmac_key"},
                "schedule": {"every": "1h"},
            }
        ]
    )
    for _ in range(2):
        done = run_cli("-c", config, "rotate", "s")
        assert done.returncode == 0, done.stderr
    assert len(versions(root_client, "app/key", mount)) == 2


class BarrierStore(KV2Store):
    """Holds every writer until all have read: a guaranteed race."""

    def __init__(self, connection: VaultConnection, parties: int) -> None:
        super().__init__(connection)
        self.barrier = threading.Barrier(parties, timeout=30)

    def write(
        self,
        secret: SecretConfig,
        record: SecretRecord,
        *,
        read: StoredSecret | None,
        rotation_id: str,
    ) -> Written:
        self.barrier.wait()
        return super().write(secret, record, read=read, rotation_id=rotation_id)


@pytest.mark.parametrize("initial", [False, True], ids=["existing", "new"])
def test_two_rotations_at_once_make_one_version_and_one_peer_skip(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str, tmp_path: Path, initial: bool
) -> None:
    path = f"{prefix}/race"
    config = load_config(
        write_config(
            [
                {
                    "name": "race",
                    "path": path,
                    "generator": {"kind": "token"},
                    "schedule": {"every": "1h"},
                }
            ]
        )
    )
    secret = config.secret("race")
    audit_path = tmp_path / "audit.jsonl"
    audit, writer = make_audit_logger(AuditConfig(stdout=False, file=audit_path), instance="t")
    if not initial:
        Rotator(KV2Store(VaultConnection(config.vault)), audit).rotate(
            secret, trigger=Trigger.INITIAL
        )
    before = versions(root_client, path) if not initial else []

    store = BarrierStore(VaultConnection(config.vault), parties=2)
    rotator = Rotator(store, audit)
    results = []

    def rotate() -> None:
        results.append(rotator.rotate(secret, trigger=Trigger.MANUAL, force=True))

    threads = [threading.Thread(target=rotate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    writer.close()

    outcomes = sorted(str(r.outcome) for r in results)
    assert outcomes == ["skipped", "succeeded"]
    assert [r.reason for r in results if r.outcome is Outcome.SKIPPED] == ["peer"]
    after = versions(root_client, path)
    assert len(after) == len(before) + 1
    if before:
        assert after[-1]["previous"] == before[-1]["current"]
    skipped = [e for e in events(audit_path.read_text()) if e["event"] == "rotation.skipped"]
    assert [e["reason"] for e in skipped] == ["peer"]


def test_a_secret_rotator_does_not_manage_is_left_alone_unless_adopted(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str
) -> None:
    path = f"{prefix}/foreign"
    root_client.secrets.kv.v2.create_or_update_secret(path=path, secret={"password": "theirs-123"})
    secrets = [
        {
            "name": "foreign",
            "path": path,
            "generator": {"kind": "token"},
            "schedule": {"every": "1h"},
        }
    ]
    refused = run_cli("-c", write_config(secrets), "rotate", "foreign")
    assert refused.returncode == 2
    assert f"secret/{path}" in refused.stdout + refused.stderr
    assert "adopt: true" in refused.stdout + refused.stderr
    assert versions(root_client, path) == [{"password": "theirs-123"}]

    secrets[0]["adopt"] = True
    adopted = run_cli("-c", write_config(secrets), "rotate", "foreign")
    assert adopted.returncode == 0, adopted.stderr
    history = versions(root_client, path)
    assert len(history) == 2
    assert history[0] == {"password": "theirs-123"}  # the old version stays in KV history
    meta = root_client.secrets.kv.v2.read_secret_metadata(path=path)["data"]
    assert meta["custom_metadata"]["managed-by"] == "rotator"
