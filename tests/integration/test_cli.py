"""The `rotator` command as operators run it: exit codes, messages, no values in output."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import hvac
import pytest
from hvac.exceptions import InvalidPath

from tests.conftest import ALL_KIND_GENERATORS, ConfigWriter, events, leaks, run_cli
from tests.integration.test_kv2_rotation import versions
from tests.support.vault_server import VaultServer, bao_binary


def exists(client: hvac.Client, path: str) -> bool:
    try:
        client.secrets.kv.v2.read_secret_metadata(path=path)
    except InvalidPath:
        return False
    return True


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        ({"colour": "blue"}, "secrets[broken].colour: unknown key"),
        ({"path": None}, "secrets[broken].path"),
        ({"schedule": {"every": "0s"}}, "secrets[broken].schedule.every: must be at least 1s"),
        ({"generator": {"kind": "nope"}}, "secrets[broken].generator: Input tag 'nope'"),
    ],
)
def test_bad_config_exits_2_naming_the_key_and_writes_nothing(
    write_config: ConfigWriter,
    root_client: hvac.Client,
    prefix: str,
    broken: dict[str, object],
    named: str,
) -> None:
    good = {
        "name": "good",
        "path": f"{prefix}/good",
        "generator": {"kind": "token"},
        "schedule": {"every": "1h"},
    }
    bad = {
        "name": "broken",
        "path": f"{prefix}/broken",
        "generator": {"kind": "token"},
        "schedule": {"every": "1h"},
        **broken,
    }
    if bad["path"] is None:
        del bad["path"]
    config = write_config([good, bad])
    for args in (("rotate", "--all"), ("rotate", "good"), ("run",)):
        done = run_cli("-c", config, *args, timeout=30)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert named in done.stderr
        assert done.stdout == ""
    assert not exists(root_client, f"{prefix}/good")
    assert not exists(root_client, f"{prefix}/broken")


def test_an_unknown_secret_name_exits_2(write_config: ConfigWriter, prefix: str) -> None:
    config = write_config(
        [
            {
                "name": "only",
                "path": f"{prefix}/only",
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
            }
        ]
    )
    done = run_cli("-c", config, "rotate", "other")
    assert done.returncode == 2
    assert "no secret named 'other'" in done.stderr
    assert "only" in done.stderr


def test_usage_errors_exit_2(write_config: ConfigWriter, prefix: str) -> None:
    config = write_config([])
    assert run_cli("-c", config, "rotate").returncode == 2
    assert run_cli("-c", config, "rotate", "a", "--all").returncode == 2
    assert run_cli("--no-such-option").returncode == 2
    missing = run_cli("-c", "/nonexistent/rotator.yaml", "rotate", "--all")
    assert missing.returncode == 2
    assert "config file not found: /nonexistent/rotator.yaml" in missing.stderr


def test_dry_run_writes_nothing(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str
) -> None:
    config = write_config(
        [
            {
                "name": "d",
                "path": f"{prefix}/d",
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
            }
        ]
    )
    done = run_cli("-c", config, "rotate", "--all", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "d: would rotate (current version 0)" in done.stdout
    assert not exists(root_client, f"{prefix}/d")


def test_a_vault_that_cannot_be_reached_exits_1_naming_the_path(
    write_config: ConfigWriter, prefix: str
) -> None:
    config = write_config(
        [
            {
                "name": "x",
                "path": f"{prefix}/x",
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
            }
        ],
        address="http://127.0.0.1:9",
    )
    done = run_cli("-c", config, "rotate", "x")
    assert done.returncode == 1
    assert f"secret/data/{prefix}/x: cannot reach Vault" in done.stdout
    failed = [e for e in events(done.stderr) if e["event"] == "rotation.failed"]
    assert failed
    assert failed[0]["error_type"] == "VaultUnavailable"


def test_no_value_of_any_kind_appears_in_any_output(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    secrets = [
        {
            "name": f"s-{spec['kind']}",
            "path": f"{prefix}/{spec['kind']}",
            "generator": spec,
            "schedule": {"every": "1h"},
            "keep_previous": 2,
        }
        for spec in ALL_KIND_GENERATORS
    ]
    config = write_config(secrets, audit_file=audit)
    captured = []
    for args in (
        ("rotate", "--all"),
        ("rotate", "--all"),
        ("rotate", "s-token"),
        ("rotate", "--all", "--dry-run"),
    ):
        done = run_cli("-c", config, *args)
        assert done.returncode == 0, done.stderr
        captured += [done.stdout, done.stderr]
    captured.append(audit.read_text())
    everything = "\n".join(captured)
    kinds = len(ALL_KIND_GENERATORS)
    assert len(events(audit.read_text())) == 2 * (2 * kinds + 1)  # started + succeeded each

    values = set()
    for secret in secrets:
        for data in versions(root_client, str(secret["path"])):
            values.add(data["current"])
            values.update(k["value"] for k in data["keyring"])
    assert len(values) == 2 * kinds + 1
    assert leaks(values, everything) == []


def test_key_pairs_publish_their_public_key_beside_the_private_one(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str
) -> None:
    config = write_config(
        [
            {
                "name": "signing",
                "path": f"{prefix}/jwt",
                "keep_previous": 1,
                "generator": {"kind": "ed25519"},
                "schedule": {"every": "30d"},
            }
        ]
    )
    for _ in range(2):
        assert run_cli("-c", config, "rotate", "signing").returncode == 0
    data = versions(root_client, f"{prefix}/jwt")[-1]
    assert data["current"].startswith("-----BEGIN PRIVATE KEY-----")
    assert data["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert data["public_jwk"]["kid"] == data["kid"]
    assert [k["public_jwk"]["kid"] for k in data["keyring"]] == [data["kid"], data["previous_kid"]]
    assert data["keyring"][1]["public_key_pem"] != data["public_key_pem"]


def test_generate_prints_one_value_and_only_that_on_stdout() -> None:
    done = run_cli("generate", "token", "--bytes", "16", "--encoding", "hex")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip()) == 32
    assert bytes.fromhex(done.stdout.strip())
    assert "128.0 bits" in done.stderr
    other = run_cli("generate", "token", "--bytes", "16", "--encoding", "hex")
    assert other.stdout != done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("generate", "magic"), "unknown generator kind 'magic' (known: token, "),
        (("generate", "password", "--length", "2"), "generator: the class minimums add up to 4"),
        (
            ("generate", "token", "--bytes", "lots"),
            "generator.bytes: Input should be a valid integer",
        ),
        (("generate", "numeric_code"), "set allow_weak: true"),
        (("generate", "token", "--colour", "red"), "generator.colour: unknown key"),
    ],
)
def test_generate_refuses_bad_parameters_with_exit_2(args: tuple[str, ...], message: str) -> None:
    done = run_cli(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_generate_json_carries_public_material() -> None:
    done = run_cli("generate", "ed25519", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["kind"] == "ed25519"
    assert document["value"].startswith("-----BEGIN PRIVATE KEY-----")
    assert document["public_jwk"]["crv"] == "Ed25519"


def bao_kv_get(vault: VaultServer, path: str) -> dict[str, object]:
    done = subprocess.run(
        [bao_binary(), "kv", "get", "-format=json", f"secret/{path}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
        env={**os.environ, "VAULT_ADDR": vault.address, "VAULT_TOKEN": vault.token},
    )
    data: dict[str, object] = json.loads(done.stdout)["data"]["data"]
    return data


def test_rollback_makes_an_older_value_current_as_bao_sees_it(
    write_config: ConfigWriter, vault_server: VaultServer, prefix: str
) -> None:
    config = write_config(
        [
            {
                "name": "rb",
                "path": f"{prefix}/rb",
                "keep_previous": 1,
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
            }
        ]
    )
    for _ in range(3):
        assert run_cli("-c", config, "rotate", "rb").returncode == 0
    first = bao_kv_get(vault_server, f"{prefix}/rb")
    history = run_cli("-c", config, "history", "rb", "--json")
    listed = json.loads(history.stdout)
    assert [v["version"] for v in listed] == [3, 2, 1]
    assert listed[0]["state"] == "current"
    done = run_cli("-c", config, "rollback", "rb", "--to", "1")
    assert done.returncode == 0, done.stderr
    assert "version 4 restores kid" in done.stdout
    now = bao_kv_get(vault_server, f"{prefix}/rb")
    version_one = json.loads(run_cli("-c", config, "history", "rb", "--json").stdout)[-1]
    assert now["kid"] == version_one["kid"]
    assert now["previous"] == first["current"]  # the replaced value still verifies
    assert now["current"] not in done.stdout + done.stderr
    again = run_cli("-c", config, "rollback", "rb", "--to", "9")
    assert again.returncode == 2
    assert "choose a version from 1 to 3" in again.stderr


def test_status_and_plan_show_every_secret_and_no_value(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str
) -> None:
    root_client.secrets.kv.v2.create_or_update_secret(
        path=f"{prefix}/theirs", secret={"k": "theirs-123456"}
    )
    config = write_config(
        [
            {
                "name": "made",
                "path": f"{prefix}/made",
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
            },
            {
                "name": "absent",
                "path": f"{prefix}/absent",
                "generator": {"kind": "token"},
                "schedule": {"cron": "0 3 * * 1", "timezone": "Europe/Berlin"},
            },
            {
                "name": "theirs",
                "path": f"{prefix}/theirs",
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
            },
        ]
    )
    assert run_cli("-c", config, "rotate", "made").returncode == 0
    done = run_cli("-c", config, "status", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert rows["made"]["state"] == "ok"
    assert rows["made"]["version"] == 1
    assert rows["absent"]["state"] == "missing"
    assert rows["absent"]["schedule"] == "cron 0 3 * * 1 Europe/Berlin"
    assert rows["theirs"]["state"] == "unmanaged"
    table = run_cli("-c", config, "status").stdout
    assert table.splitlines()[0].split() == [
        "NAME",
        "ENGINE",
        "PATH",
        "KIND",
        "SCHEDULE",
        "LAST",
        "ROTATED",
        "AGE",
        "NEXT",
        "DUE",
        "VERSION",
        "STATE",
    ]
    plan = json.loads(run_cli("-c", config, "plan", "--json").stdout)
    assert [p["name"] for p in plan][-1] == "made"  # due last
    assert {p["name"]: p["trigger"] for p in plan} == {
        "made": "schedule",
        "absent": "initial",
        "theirs": "initial",
    }
    current = versions(root_client, f"{prefix}/made")[0]["current"]
    for args in (("status",), ("plan",), ("history", "made")):
        out = run_cli("-c", config, *args)
        assert current not in out.stdout + out.stderr
        assert "theirs-123456" not in out.stdout + out.stderr


def test_validate_checks_the_config_and_with_check_vault_the_capabilities(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str
) -> None:
    secrets = [
        {
            "name": "v",
            "path": f"{prefix}/v",
            "generator": {"kind": "token"},
            "schedule": {"every": "1h"},
        }
    ]
    ok = run_cli("-c", write_config(secrets), "validate", "--check-vault")
    assert ok.returncode == 0, ok.stderr
    assert "valid, 1 secret(s)" in ok.stdout
    root_client.sys.create_or_update_policy(
        "meta-only", 'path "secret/metadata/*" { capabilities = ["read"] }'
    )
    token = root_client.auth.token.create(policies=["meta-only"], ttl="10m")["auth"]["client_token"]
    limited = run_cli(
        "-c", write_config(secrets, token=token, name="l.yaml"), "validate", "--check-vault"
    )
    assert limited.returncode == 1
    lines = {line.split()[1]: line for line in limited.stdout.splitlines()[3:]}
    assert lines[f"secret/data/{prefix}/v"].endswith("create, read, update")
    assert lines[f"secret/metadata/{prefix}/v"].endswith("update")
    bad_token = run_cli(
        "-c", write_config(secrets, token="not-a-token", name="b.yaml"), "validate", "--check-vault"
    )
    assert bad_token.returncode == 1
    assert "does not accept the token" in bad_token.stderr


def test_rotate_json_gives_one_object_per_secret(write_config: ConfigWriter, prefix: str) -> None:
    config = write_config(
        [
            {
                "name": n,
                "path": f"{prefix}/{n}",
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
            }
            for n in ("j1", "j2")
        ]
    )
    done = run_cli("-c", config, "rotate", "--all", "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(row["secret"] for row in rows) == ["j1", "j2"]
    assert {row["outcome"] for row in rows} == {"succeeded"}
    assert all(row["version"] == 1 and row["kid"] for row in rows)
