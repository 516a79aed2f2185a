"""`rotator run` as a real process against a real OpenBao."""

from __future__ import annotations

import itertools
import signal
import time
from collections.abc import Callable
from datetime import timedelta
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
        assert timedelta(seconds=2) <= gap <= timedelta(seconds=4)

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
