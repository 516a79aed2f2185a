"""`rotator run` as a real process against a real OpenBao."""

from __future__ import annotations

import itertools
import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import hvac

from rotator.clock import parse_time
from tests.conftest import ConfigWriter, DaemonProcess
from tests.integration.test_kv2_rotation import versions
from tests.support.proxy import FaultProxy
from tests.support.vault_server import VaultServer

StartDaemon = Callable[..., DaemonProcess]


def named(kind: str) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    return lambda found: [e for e in found if e["event"] == kind]


def test_the_daemon_rotates_on_schedule_and_keeps_its_clock_in_vault(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str, start_daemon: StartDaemon
) -> None:
    path = f"{prefix}/tick"
    config = write_config(
        [
            {
                "name": "tick",
                "path": path,
                "generator": {"kind": "token"},
                "schedule": {"every": "2s"},
                "keep_previous": 1,
            }
        ]
    )
    daemon = start_daemon(config)
    daemon.wait_for(lambda found: len(named("rotation.succeeded")(found)) >= 3, timeout=30)
    assert daemon.stop() == 0
    history = versions(root_client, path)
    triggers = [e["trigger"] for e in named("rotation.succeeded")(daemon.events())]
    assert triggers[0] == "initial"
    assert set(triggers[1:]) == {"schedule"}
    for before, after in itertools.pairwise(history):
        assert after["previous"] == before["current"]
        # each rotation happened when the one before said it was due, not earlier
        assert parse_time(after["rotated_at"]) >= parse_time(before["next_rotation_at"])
        gap = parse_time(after["rotated_at"]) - parse_time(before["rotated_at"])
        assert timedelta(seconds=2) <= gap <= timedelta(seconds=6)  # late only under load

    # A restart plans from Vault: nothing is rotated before it is due.
    slow = write_config(
        [
            {
                "name": "tick",
                "path": path,
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
            }
        ],
        name="slow.yaml",
    )
    root_client.secrets.kv.v2.read_secret_metadata(path=path)
    last_due = parse_time(versions(root_client, path)[-1]["next_rotation_at"])
    count = len(versions(root_client, path))
    restarted = start_daemon(slow)
    restarted.wait_for(named("daemon.started"), timeout=20)
    # the stored due time (from the 2s schedule) passes once; after that rotation,
    # the 1h period applies and no further rotation happens
    wait = max(0.0, (last_due - parse_time(restarted.events()[-1]["timestamp"])).total_seconds())
    time.sleep(wait + 3)
    assert restarted.stop() == 0
    assert len(versions(root_client, path)) <= count + 1


def test_sigterm_finishes_the_rotation_in_flight_then_exits_0(
    write_config: ConfigWriter,
    root_client: hvac.Client,
    prefix: str,
    start_daemon: StartDaemon,
    vault_server: VaultServer,
) -> None:
    target = urlparse(vault_server.address)
    proxy = FaultProxy(target.hostname or "127.0.0.1", target.port or 8200)
    try:
        path = f"{prefix}/slow"
        config = write_config(
            [
                {
                    "name": "slow",
                    "path": path,
                    "generator": {"kind": "token"},
                    "schedule": {"every": "1h"},
                }
            ],
            address=proxy.address,
        )
        proxy.delay = 1.0  # every request to Vault takes a second
        daemon = start_daemon(config)
        daemon.wait_for(named("rotation.started"), timeout=30)
        daemon.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert daemon.process.wait(timeout=20) == 0
        assert time.monotonic() - started < 10
        found = daemon.events()
        kinds = [e["event"] for e in found]
        assert kinds.index("rotation.succeeded") < kinds.index("daemon.stopped")
        assert len(versions(root_client, path)) == 1
    finally:
        proxy.close()


def http_get(address: str, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://{address}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def metric(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_move_and_readyz_follows_vault(
    write_config: ConfigWriter, prefix: str, start_daemon: StartDaemon, vault_server: VaultServer
) -> None:
    target = urlparse(vault_server.address)
    proxy = FaultProxy(target.hostname or "127.0.0.1", target.port or 8200)
    try:
        config = write_config(
            [
                {
                    "name": "m1",
                    "path": f"{prefix}/m1",
                    "generator": {"kind": "token"},
                    "schedule": {"every": "2s"},
                }
            ],
            address=proxy.address,
        )
        daemon = start_daemon(config)
        started = daemon.wait_for(named("daemon.started"))
        address = named("daemon.started")(started)[0]["listen"]
        daemon.wait_for(lambda found: len(named("rotation.succeeded")(found)) >= 1)
        status, body = http_get(address, "/metrics")
        assert status == 200
        first = metric(body, 'rotator_rotations_total{outcome="succeeded",secret="m1"}')
        assert first >= 1
        assert metric(body, "rotator_vault_up") in (0.0, 1.0)
        daemon.wait_for(lambda found: len(named("rotation.succeeded")(found)) >= 3)
        later = metric(
            http_get(address, "/metrics")[1],
            'rotator_rotations_total{outcome="succeeded",secret="m1"}',
        )
        assert later >= first + 2
        assert http_get(address, "/healthz")[0] == 200
        status, body = http_get(address, "/readyz")
        assert status == 200, body
        assert json.loads(body)["vault"]["authenticated"] is True

        proxy.down = True
        deadline = time.monotonic() + 10
        while http_get(address, "/readyz")[0] != 503 and time.monotonic() < deadline:
            time.sleep(0.3)
        status, body = http_get(address, "/readyz")
        assert status == 503
        assert json.loads(body)["vault"]["reachable"] is False
        assert metric(http_get(address, "/metrics")[1], "rotator_vault_up") == 0.0
        assert http_get(address, "/healthz")[0] == 200  # the process itself is fine

        proxy.down = False
        deadline = time.monotonic() + 10
        while http_get(address, "/readyz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert http_get(address, "/readyz")[0] == 200
        daemon.wait_for(named("vault.available"))
        assert daemon.stop() == 0
        assert named("vault.unavailable")(daemon.events())
    finally:
        proxy.close()


def test_three_replicas_rotate_each_secret_at_most_once_per_period(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str, start_daemon: StartDaemon
) -> None:
    period = 3
    secrets = [
        {
            "name": f"r{i}",
            "path": f"{prefix}/r{i}",
            "generator": {"kind": "token"},
            "schedule": {"every": f"{period}s"},
        }
        for i in range(3)
    ]
    config = write_config(secrets)
    began = time.monotonic()
    daemons = [start_daemon(config) for _ in range(3)]
    time.sleep(12)
    for daemon in daemons:
        assert daemon.stop() == 0
    elapsed = time.monotonic() - began
    one_daemon = int(elapsed / period) + 1
    skips = [
        e
        for d in daemons
        for e in d.events()
        if e["event"] == "rotation.skipped" and e.get("reason") in ("peer", "not_due")
    ]
    assert skips, "replicas never met: the test proves nothing"
    for secret in secrets:
        history = versions(root_client, str(secret["path"]))
        assert 2 <= len(history) <= one_daemon + 1, (secret["name"], len(history), one_daemon)
        for before, after in itertools.pairwise(history):
            assert after["previous"] == before["current"]
            gap = parse_time(after["rotated_at"]) - parse_time(before["rotated_at"])
            assert gap >= timedelta(seconds=period), (secret["name"], gap)
        succeeded = sum(
            1
            for d in daemons
            for e in d.events()
            if e["event"] == "rotation.succeeded" and e["secret"] == secret["name"]
        )
        assert succeeded == len(history)


def test_after_kill_9_and_a_restart_each_overdue_secret_catches_up_exactly_once(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str, start_daemon: StartDaemon
) -> None:
    secrets = [
        {
            "name": f"k{i}",
            "path": f"{prefix}/k{i}",
            "generator": {"kind": "token"},
            "schedule": {"every": "3s"},
        }
        for i in range(3)
    ]
    config = write_config(secrets)
    first = start_daemon(config)
    first.wait_for(lambda found: len(named("rotation.succeeded")(found)) >= 3)
    first.process.kill()
    first.process.wait(timeout=10)
    time.sleep(7)  # every secret is now overdue by a period or more
    before = {s["name"]: len(versions(root_client, str(s["path"]))) for s in secrets}
    second = start_daemon(config)
    second.wait_for(lambda found: len(named("rotation.succeeded")(found)) >= 3, timeout=20)
    assert second.stop() == 0
    done = named("rotation.succeeded")(second.events())
    for secret in secrets:
        mine = [e for e in done if e["secret"] == secret["name"]]
        assert mine[0]["trigger"] == "catchup"
        assert sum(1 for e in mine if e["trigger"] == "catchup") == 1
        assert len(versions(root_client, str(secret["path"]))) == before[secret["name"]] + len(mine)


def test_vault_gone_for_longer_than_the_backoff_then_back_loses_nothing(
    write_config: ConfigWriter,
    root_client: hvac.Client,
    prefix: str,
    start_daemon: StartDaemon,
    vault_server: VaultServer,
) -> None:
    target = urlparse(vault_server.address)
    proxy = FaultProxy(target.hostname or "127.0.0.1", target.port or 8200)
    try:
        secrets = [
            {
                "name": f"u{i}",
                "path": f"{prefix}/u{i}",
                "generator": {"kind": "token"},
                "schedule": {"every": "2s"},
            }
            for i in range(3)
        ]
        config = write_config(
            secrets,
            address=proxy.address,
            defaults={"retry": {"attempts": 3, "backoff": "1s", "max_backoff": "2s"}},
        )
        daemon = start_daemon(config)
        daemon.wait_for(lambda found: len(named("rotation.succeeded")(found)) >= 3)
        proxy.down = True
        time.sleep(8)  # attempts 3 with backoff 1s..2s are used up well within this
        proxy.down = False
        marker = len(daemon.events())
        daemon.wait_for(
            lambda found: (
                {e["secret"] for e in named("rotation.succeeded")(found[marker:])}
                == {s["name"] for s in secrets}
            ),
            timeout=20,
        )
        assert daemon.stop() == 0
        found = daemon.events()
        assert named("rotation.retry_scheduled")(found)
        assert named("rotation.failed")(found)
        for secret in secrets:
            history = versions(root_client, str(secret["path"]))
            for before, after in itertools.pairwise(history):
                assert after["previous"] == before["current"]
    finally:
        proxy.close()


def test_sighup_adds_and_removes_secrets_without_a_restart(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str, start_daemon: StartDaemon
) -> None:
    first = {
        "name": "old",
        "path": f"{prefix}/old",
        "generator": {"kind": "token"},
        "schedule": {"every": "2s"},
    }
    second = {
        "name": "new",
        "path": f"{prefix}/new",
        "generator": {"kind": "token"},
        "schedule": {"every": "1h"},
    }
    config = write_config([first])
    daemon = start_daemon(config)
    daemon.wait_for(lambda found: len(named("rotation.succeeded")(found)) >= 1)
    write_config([second])  # the same file
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for(lambda found: len(named("config.loaded")(found)) >= 2)
    loaded = named("config.loaded")(daemon.events())[-1]
    assert loaded["added"] == ["new"]
    assert loaded["removed"] == ["old"]
    daemon.wait_for(
        lambda found: any(e["secret"] == "new" for e in named("rotation.succeeded")(found))
    )
    old_count = len(versions(root_client, f"{prefix}/old"))
    time.sleep(4.5)  # two periods of the removed secret
    assert len(versions(root_client, f"{prefix}/old")) == old_count

    config.write_text("secrets: [{name: broken}]\n")
    daemon.process.send_signal(signal.SIGHUP)
    failed = daemon.wait_for(named("config.reload_failed"))
    assert "secrets[broken].path" in named("config.reload_failed")(failed)[0]["error"]
    assert daemon.process.poll() is None
    assert daemon.stop() == 0


def test_the_audit_line_of_a_rotation_is_whole_after_sigkill(
    write_config: ConfigWriter, prefix: str, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    config = write_config(
        [
            {
                "name": "k",
                "path": f"{prefix}/k",
                "generator": {"kind": "token"},
                "schedule": {"every": "1s"},
            }
        ],
        audit_file=audit,
        stdout=False,
    )
    daemon = start_daemon(config)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if audit.exists() and '"rotation.succeeded"' in audit.read_text():
            break
        time.sleep(0.02)
    daemon.process.kill()
    daemon.process.wait(timeout=10)
    lines = audit.read_text().splitlines()
    parsed = [json.loads(line) for line in lines]  # every line is whole JSON
    succeeded = [e for e in parsed if e["event"] == "rotation.succeeded"]
    assert succeeded
    assert all(e["version"] >= 1 and e["kid"] for e in succeeded)


def test_watch_config_reloads_when_the_file_changes(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str, start_daemon: StartDaemon
) -> None:
    first = {
        "name": "w1",
        "path": f"{prefix}/w1",
        "generator": {"kind": "token"},
        "schedule": {"every": "1h"},
    }
    config = write_config([first])
    daemon = start_daemon(config, "--watch-config")
    daemon.wait_for(lambda found: len(named("rotation.succeeded")(found)) >= 1)
    second = {**first, "name": "w2", "path": f"{prefix}/w2"}
    write_config([first, second])  # the same file, changed
    daemon.wait_for(
        lambda found: any(e.get("added") == ["w2"] for e in named("config.loaded")(found)),
        timeout=20,
    )
    daemon.wait_for(
        lambda found: any(e["secret"] == "w2" for e in named("rotation.succeeded")(found))
    )
    assert daemon.stop() == 0
    assert len(versions(root_client, f"{prefix}/w2")) == 1
