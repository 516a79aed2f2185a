"""Faults of a real deployment, survived with nothing lost.

Against a non-dev OpenBao with integrated (Raft) storage on disk, that the
test initialises, unseals, stops, restarts and seals.
"""

from __future__ import annotations

import itertools
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest

from tests.conftest import ConfigWriter, DaemonProcess, run_cli
from tests.support.vault_server import RaftServer

pytestmark = [pytest.mark.faults, pytest.mark.slow]

StartDaemon = Callable[..., DaemonProcess]
POLICY = (Path(__file__).resolve().parents[2] / "config" / "policy.hcl").read_text()


@pytest.fixture
def raft(tmp_path: Path) -> Iterator[RaftServer]:
    server = RaftServer(tmp_path / "openbao")
    server.start()
    server.initialise()
    yield server
    server.close()


def secrets_of(count: int, every: str, prefix: str = "burst") -> list[dict[str, Any]]:
    return [
        {
            "name": f"s{i:04d}",
            "path": f"{prefix}/s{i:04d}",
            "generator": {"kind": "token"},
            "schedule": {"every": every},
            "keep_previous": 1,
        }
        for i in range(count)
    ]


def history(client: hvac.Client, path: str) -> list[dict[str, Any]]:
    meta = client.secrets.kv.v2.read_secret_metadata(path=path)["data"]
    return [
        client.secrets.kv.v2.read_secret_version(
            path=path, version=v, raise_on_deleted_version=True
        )["data"]["data"]
        for v in range(1, meta["current_version"] + 1)
    ]


def assert_chains_intact(client: hvac.Client, secrets: list[dict[str, Any]]) -> dict[str, int]:
    counts = {}
    for secret in secrets:
        versions = history(client, secret["path"])
        for before, after in itertools.pairwise(versions):
            assert after["previous"] == before["current"], secret["name"]
            assert [k["kid"] for k in after["keyring"]] == [after["kid"], before["kid"]]
        counts[secret["name"]] = len(versions)
    return counts


def create_then_let_fall_due(
    raft: RaftServer, write_config: ConfigWriter, count: int
) -> list[dict[str, Any]]:
    """Create `count` secrets with a 1 s period and wait until every one is due."""
    secrets = secrets_of(count, "1s")
    seed = write_config(secrets, address=raft.address, token=raft.token, name="seed.yaml")
    done = run_cli("-c", seed, "rotate", "--all", "--concurrency", "8", timeout=600)
    assert done.returncode == 0, done.stdout[-2000:]
    time.sleep(2)
    return [{**s, "schedule": {"every": "1h"}} for s in secrets]


def burst_config(
    raft: RaftServer, write_config: ConfigWriter, secrets: list[dict[str, Any]], **extra: Any
) -> Path:
    return write_config(
        secrets,
        address=raft.address,
        token=raft.token,
        name="burst.yaml",
        defaults={"retry": {"attempts": 20, "backoff": "1s", "max_backoff": "3s"}},
        scheduler={"workers": 8, "catchup_per_second": 100},
        **extra,
    )


def wait_until_all_rotated(
    client: hvac.Client, secrets: list[dict[str, Any]], *, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    pending = [s["path"] for s in secrets]
    while pending and time.monotonic() < deadline:
        pending = [
            path
            for path in pending
            if client.secrets.kv.v2.read_secret_metadata(path=path)["data"]["current_version"] < 2
        ]
        if pending:
            time.sleep(0.5)
    assert not pending, f"{len(pending)} secrets were never rotated, e.g. {pending[:3]}"


def succeeded(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == "rotation.succeeded"]


def test_openbao_restarted_in_the_middle_of_a_burst_of_500_rotations(
    raft: RaftServer, write_config: ConfigWriter, start_daemon: StartDaemon
) -> None:
    secrets = create_then_let_fall_due(raft, write_config, 500)
    daemon = start_daemon(burst_config(raft, write_config, secrets))
    daemon.wait_for(lambda found: len(succeeded(found)) >= 50, timeout=60)
    raft.restart(down_for=3)
    daemon.wait_for(lambda found: len({e["secret"] for e in succeeded(found)}) == 500, timeout=240)
    assert daemon.stop() == 0
    found = daemon.events()
    client = hvac.Client(url=raft.address, token=raft.token)
    counts = assert_chains_intact(client, secrets)
    assert set(counts.values()) == {2}  # one catch-up each: none twice, none skipped
    trouble = [e for e in found if e["event"] in ("rotation.failed", "rotation.retry_scheduled")]
    assert trouble, "the restart hit no rotation: the test proved nothing"
    last_success = {e["secret"]: e["timestamp"] for e in succeeded(found)}
    for event in trouble:
        assert last_success[event["secret"]] > event["timestamp"], event


def test_sealed_for_longer_than_the_backoff_then_unsealed(
    raft: RaftServer, write_config: ConfigWriter, start_daemon: StartDaemon
) -> None:
    secrets = secrets_of(5, "2s", prefix="sealed")
    config = write_config(
        secrets,
        address=raft.address,
        token=raft.token,
        defaults={"retry": {"attempts": 2, "backoff": "1s", "max_backoff": "2s"}},
    )
    daemon = start_daemon(config)
    started = daemon.wait_for(lambda found: len(succeeded(found)) >= 5, timeout=60)
    listen = next(e["listen"] for e in started if e["event"] == "daemon.started")

    def ready() -> int:
        try:
            with urllib.request.urlopen(f"http://{listen}/readyz", timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    raft.seal()
    deadline = time.monotonic() + 15
    while ready() != 503 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert ready() == 503
    time.sleep(6)  # three periods, more than the whole backoff
    mark = len(daemon.events())
    raft.unseal()
    daemon.wait_for(
        lambda found: (
            {e["secret"] for e in succeeded(found[mark:])} == {s["name"] for s in secrets}
        ),
        timeout=60,
    )
    assert ready() == 200
    assert daemon.stop() == 0
    found = daemon.events()
    sealed_failures = [
        e for e in found if e["event"] == "rotation.failed" and e["error_type"] == "VaultSealed"
    ]
    assert sealed_failures
    assert any(e["event"] == "vault.unavailable" and e["sealed"] for e in found)
    assert_chains_intact(hvac.Client(url=raft.address, token=raft.token), secrets)


def test_the_daemon_killed_in_a_burst_and_restarted_rotates_each_secret_once(
    raft: RaftServer, write_config: ConfigWriter, start_daemon: StartDaemon
) -> None:
    secrets = create_then_let_fall_due(raft, write_config, 300)
    config = burst_config(raft, write_config, secrets)
    first = start_daemon(config)
    first.wait_for(lambda found: len(succeeded(found)) >= 30, timeout=60)
    first.process.kill()
    first.process.wait(timeout=10)
    second = start_daemon(config)
    client = hvac.Client(url=raft.address, token=raft.token)
    wait_until_all_rotated(client, secrets, timeout=240)
    time.sleep(1)
    assert second.stop() == 0
    counts = assert_chains_intact(client, secrets)
    assert set(counts.values()) == {2}  # one rotation in the period: none twice, none skipped
    by_first = {e["secret"] for e in succeeded(first.events())}
    by_second = {e["secret"] for e in succeeded(second.events())}
    assert not by_first & by_second
    # A rotation the kill cut short between Vault's answer and its audit line
    # has its rotation.started; every other one has its rotation.succeeded.
    cut_short = {e["secret"] for e in first.events() if e["event"] == "rotation.started"}
    assert {s["name"] for s in secrets} <= by_first | by_second | cut_short


def test_a_revoked_policy_fails_by_name_without_a_retry_storm_and_recovers(
    raft: RaftServer, write_config: ConfigWriter, start_daemon: StartDaemon
) -> None:
    client = hvac.Client(url=raft.address, token=raft.token)
    client.sys.create_or_update_policy("rotator", POLICY)
    token = client.auth.token.create(policies=["rotator"], ttl="1h")["auth"]["client_token"]
    secrets = secrets_of(3, "2s", prefix="revoked")
    config = write_config(
        secrets,
        address=raft.address,
        token=token,
        defaults={"retry": {"attempts": 5, "backoff": "1s", "max_backoff": "2s"}},
    )
    daemon = start_daemon(config)
    daemon.wait_for(lambda found: len(succeeded(found)) >= 3, timeout=60)
    client.sys.create_or_update_policy(
        "rotator",
        'path "secret/metadata/*" { capabilities = ["read"] }\n'
        'path "secret/data/*" { capabilities = ["read"] }',
    )
    revoked_at = len(daemon.events())
    time.sleep(8)
    client.sys.create_or_update_policy("rotator", POLICY)
    restored_at = len(daemon.events())
    daemon.wait_for(
        lambda found: (
            {e["secret"] for e in succeeded(found[restored_at:])} == {s["name"] for s in secrets}
        ),
        timeout=30,
    )
    assert daemon.stop() == 0
    window = daemon.events()[revoked_at:restored_at]
    failed = [e for e in window if e["event"] == "rotation.failed"]
    assert failed
    for event in failed:
        assert event["error_type"] == "PermissionDenied"
        assert "secret/data/revoked/" in event["error"]
        assert "lacks the 'update' capability" in event["error"]
    assert not [e for e in window if e["event"] == "rotation.retry_scheduled"]
    per_secret: dict[str, int] = defaultdict(int)
    for event in failed:
        per_secret[event["secret"]] += 1
    # permanent: tried again at its next period (2 s) only; eight seconds allow five
    assert max(per_secret.values()) <= 5, per_secret
    assert_chains_intact(client, secrets)
