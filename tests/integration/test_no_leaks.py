"""No value reaches any output: every kind, every command, the daemon, and the failures."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import hvac
import pytest

from rotator.audit import make_audit_logger
from rotator.config import AuditConfig, load_config
from rotator.rotation import Rotator
from rotator.schedule import Trigger
from rotator.vault import VaultConnection
from tests.conftest import ALL_KIND_GENERATORS, ConfigWriter, DaemonProcess, events, leaks, run_cli
from tests.integration.test_kv2_rotation import BarrierStore, versions
from tests.support.vault_server import BaoDevServer

READ_ONLY_POLICY = """
path "secret/metadata/*" { capabilities = ["read", "list"] }
path "secret/data/*" { capabilities = ["read"] }
"""


@pytest.fixture
def sealable() -> Iterator[BaoDevServer]:
    server = BaoDevServer().start()
    yield server
    server.stop()


def test_no_value_reaches_any_output_even_on_failures(
    sealable: BaoDevServer,
    write_config: ConfigWriter,
    tmp_path: Path,
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    client = hvac.Client(url=sealable.address, token=sealable.token)
    audit = tmp_path / "audit.jsonl"
    secrets = [
        {
            "name": f"s-{spec['kind']}",
            "path": f"leak/{spec['kind']}",
            "generator": spec,
            "schedule": {"every": "2s"},
            "keep_previous": 2,
        }
        for spec in ALL_KIND_GENERATORS
    ]
    client.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"})
    kv1 = {
        "name": "s-kv1",
        "path": "leak/kv1",
        "mount": "kv1",
        "engine": "kv1",
        "generator": {"kind": "password"},
        "schedule": {"every": "2s"},
        "keep_previous": 2,
    }
    config = write_config(
        [*secrets, kv1], address=sealable.address, token=sealable.token, audit_file=audit
    )
    captured: list[str] = []

    def cli(*args: str, expect: int = 0, path: Path = config) -> None:
        done = run_cli("-c", path, *args)
        captured.extend([done.stdout, done.stderr])
        assert done.returncode == expect, (args, done.stdout[-2000:], done.stderr[-2000:])

    # Every command, with success.
    cli("rotate", "--all")
    cli("rotate", "--all")
    cli("rotate", "--all", "--dry-run")
    for args in (
        ("status",),
        ("status", "--json"),
        ("plan",),
        ("plan", "--json"),
        ("validate",),
        ("validate", "--check-vault"),
    ):
        cli(*args)
    for secret in secrets:
        cli("history", str(secret["name"]))
        cli("history", str(secret["name"]), "--json")
    cli("rollback", "s-token")
    cli("rollback", "s-password", "--to", "1")

    # The daemon: three replicas racing, with the metrics page scraped.
    daemons = [start_daemon(config) for _ in range(3)]
    daemons[0].wait_for(lambda found: any(e["event"] == "daemon.started" for e in found))
    listen = next(e["listen"] for e in daemons[0].events() if e["event"] == "daemon.started")
    time.sleep(5)
    for path in ("/metrics", "/readyz", "/healthz"):
        with urllib.request.urlopen(f"http://{listen}{path}", timeout=5) as response:
            captured.append(response.read().decode())
    for daemon in daemons:
        assert daemon.stop() == 0
        captured.extend([daemon.output(), daemon.errors()])

    # A check-and-set conflict, in-process, recorded in the same audit file.
    loaded = load_config(config)
    log, writer = make_audit_logger(AuditConfig(stdout=False, file=audit), instance="race")
    rotator = Rotator(BarrierStore(VaultConnection(loaded.vault), parties=2), log)
    racers = [
        threading.Thread(
            target=rotator.rotate,
            args=(loaded.secret("s-token"),),
            kwargs={"trigger": Trigger.MANUAL, "force": True},
        )
        for _ in range(2)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=60)
    writer.close()

    # Permission denied: a token that may only read.
    client.sys.create_or_update_policy("read-only", READ_ONLY_POLICY)
    limited = client.auth.token.create(policies=["read-only"], ttl="1h")["auth"]["client_token"]
    limited_config = write_config(
        secrets, address=sealable.address, token=limited, audit_file=audit, name="limited.yaml"
    )
    cli("rotate", "--all", expect=1, path=limited_config)
    cli("rollback", "s-token", expect=1, path=limited_config)
    cli("validate", "--check-vault", expect=1, path=limited_config)
    cli("status", path=limited_config)

    # A sealed Vault.
    client.sys.seal()
    cli("rotate", "--all", expect=1)
    cli("status", expect=1)
    sealed_daemon = start_daemon(config)
    sealed_daemon.wait_for(
        lambda found: any(e["event"] == "rotation.retry_scheduled" for e in found)
    )
    assert sealed_daemon.stop() == 0
    captured.extend([sealed_daemon.output(), sealed_daemon.errors()])
    client.sys.submit_unseal_key(sealable.unseal_key())

    audit_text = audit.read_text()
    captured.append(audit_text)
    everything = "\n".join(captured)
    kinds = {e["event"] for e in events(audit_text)} | {e["event"] for e in events(everything)}
    for expected in (
        "rotation.succeeded",
        "rotation.failed",
        "rotation.skipped",
        "rotation.retry_scheduled",
        "rollback.succeeded",
        "rollback.failed",
        "daemon.started",
        "daemon.stopped",
    ):
        assert expected in kinds, expected
    assert "permission denied" in everything
    assert "sealed" in everything.lower()

    values: set[str] = set()
    for secret in secrets:
        for data in versions(client, str(secret["path"])):
            values.add(data["current"])
            values.update(entry["value"] for entry in data["keyring"])
    assert len(values) > 3 * len(secrets)
    kv1_data = client.secrets.kv.v1.read_secret(path="leak/kv1", mount_point="kv1")["data"]
    kv1_values = {entry["value"] for entry in kv1_data["keyring"]}
    assert len(kv1_values) == 3
    values |= kv1_values
    sample = sorted(values)[0]
    assert leaks([sample], f"x{sample}x") == [sample]  # the search itself works
    assert leaks(values, everything) == []
    assert sealable.token not in everything
    assert limited not in everything
