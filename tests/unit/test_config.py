from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from rotator.config import expand_env, load_config, parse_config
from rotator.errors import ConfigError

ENV = {"VAULT_TOKEN": "t0ken-for-tests"}


def base(**secret: Any) -> dict[str, Any]:
    entry = {
        "name": "web",
        "path": "apps/web/session",
        "generator": {"kind": "token", "bytes": 32},
        "schedule": {"every": "24h"},
        **secret,
    }
    return {"vault": {"auth": {"method": "token", "token": "${VAULT_TOKEN}"}}, "secrets": [entry]}


def error_of(raw: Any, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, environ=ENV if environ is None else environ)
    assert info.value.exit_code == 2
    return str(info.value)


def test_a_minimal_config_loads_with_the_design_defaults() -> None:
    config = parse_config(base(), environ=ENV)
    secret = config.secret("web")
    assert secret.mount == "secret"
    assert secret.engine == "kv2"
    assert secret.keep_previous == 1
    assert secret.schedule.every == timedelta(hours=24)
    assert secret.generator.kind == "token"
    assert config.vault.address == "http://127.0.0.1:8200"
    assert config.vault.auth.token is not None
    assert config.vault.auth.token.get_secret_value() == "t0ken-for-tests"


def test_defaults_apply_field_by_field_and_the_secret_wins() -> None:
    raw = base(keep_previous=3)
    raw["defaults"] = {"mount": "kv", "keep_previous": 2, "jitter": "30s"}
    secret = parse_config(raw, environ=ENV).secret("web")
    assert secret.mount == "kv"
    assert secret.keep_previous == 3
    assert secret.jitter == timedelta(seconds=30)


def test_env_expansion_with_defaults_and_escapes() -> None:
    environ = {"A": "x", "EMPTY": ""}
    assert expand_env("${A}-${B:-dflt}-${EMPTY:-e}-$${A}", environ, key="k") == "x-dflt-e-${A}"


def test_an_unset_variable_names_the_key_and_the_variable() -> None:
    message = error_of(base(), environ={})
    assert "vault.auth.token" in message
    assert "VAULT_TOKEN" in message


def test_vault_address_and_token_come_from_the_standard_environment() -> None:
    raw = base()
    del raw["vault"]
    config = parse_config(
        raw,
        environ={
            "VAULT_ADDR": "https://vault.example:8200",
            "VAULT_TOKEN": "s.abc",
            "HOME": "/nonexistent",
        },
    )
    assert config.vault.address == "https://vault.example:8200"
    assert config.vault.auth.token is not None
    assert config.vault.auth.token.get_secret_value() == "s.abc"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (base(colour="blue"), "secrets[web].colour: unknown key"),
        ({**base(), "extra": 1}, "extra: unknown key"),
        (base(path=None), "secrets[web].path"),
        (base(schedule={"every": "0s"}), "secrets[web].schedule.every: must be at least 1s"),
        (base(schedule={"every": "soon"}), "secrets[web].schedule.every: expected a duration"),
        (base(schedule={}), "secrets[web].schedule: set exactly one of every or cron"),
        (base(schedule={"cron": "61 * * * *"}), "secrets[web].schedule: cron '61 * * * *'"),
        (base(schedule={"every": "1h", "timezone": "Mars/Base"}), "unknown time zone"),
        (base(generator={"kind": "magic"}), "secrets[web].generator: Input tag 'magic'"),
        (base(generator={"kind": "token", "bytes": 4}), "secrets[web].generator: a token"),
        (base(generator={"kind": "token", "size": 4}), "secrets[web].generator.size: unknown key"),
        (base(keep_previous=-1), "secrets[web].keep_previous"),
        (base(path="/leading"), "secrets[web].path: must be a path without a leading"),
        (base(path="a/../b"), "secrets[web].path: segment '..'"),
        (base(name="bad name"), "secrets[bad name].name: String should match"),
    ],
)
def test_bad_config_is_refused_naming_the_key(raw: dict[str, Any], expected: str) -> None:
    assert expected in error_of(raw)


def test_a_missing_path_is_named() -> None:
    raw = base()
    del raw["secrets"][0]["path"]
    assert "secrets[web].path: Field required" in error_of(raw)


def test_a_bad_default_is_reported_once_under_defaults() -> None:
    raw = base()
    raw["secrets"].append({**raw["secrets"][0], "name": "api", "path": "apps/api"})
    raw["defaults"] = {"keep_previous": "many"}
    message = error_of(raw)
    assert "defaults.keep_previous" in message
    assert "secrets[web].keep_previous" not in message


def test_names_and_paths_are_unique() -> None:
    raw = base()
    raw["secrets"].append(dict(raw["secrets"][0]))
    assert "secret name 'web' is used twice" in error_of(raw)
    raw["secrets"][1]["name"] = "other"
    assert "two secrets write to 'secret/apps/web/session'" in error_of(raw)


def test_load_config_reports_a_missing_file_and_yaml_syntax(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml", environ=ENV)
    bad = tmp_path / "bad.yaml"
    bad.write_text("vault:\n  address: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: .* at line \d+"):
        load_config(bad, environ=ENV)


def test_load_config_uses_rotator_config_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(base()))
    config = load_config(environ={**ENV, "ROTATOR_CONFIG": str(path)})
    assert [s.name for s in config.secrets] == ["web"]


def test_the_shipped_example_config_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    config = load_config(root / "config" / "rotator.yaml", environ=ENV)
    assert config.secrets


def test_a_config_token_never_shows_in_its_repr() -> None:
    config = parse_config(base(), environ=ENV)
    assert "t0ken-for-tests" not in repr(config)
    assert "t0ken-for-tests" not in str(config.vault)


SHIPPED_CONFIGS = sorted(
    path
    for path in (Path(__file__).resolve().parents[2] / "config").rglob("*.yaml")
    if path.parent.name != "prometheus"
)


@pytest.mark.parametrize("path", SHIPPED_CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_is_valid(path: Path) -> None:
    environ = {"VAULT_TOKEN": "t", "ROTATOR_ROLE_ID": "role", "HOME": "/nonexistent"}
    config = load_config(path, environ=environ)
    assert config.secrets


def test_vault_namespace_cacert_and_skip_verify_come_from_the_environment() -> None:
    raw = base()
    config = parse_config(
        raw, environ={**ENV, "VAULT_NAMESPACE": "team-a", "VAULT_CACERT": "/etc/ssl/vault-ca.pem"}
    )
    assert config.vault.namespace == "team-a"
    assert str(config.vault.tls.ca_cert) == "/etc/ssl/vault-ca.pem"
    insecure = parse_config(raw, environ={**ENV, "VAULT_SKIP_VERIFY": "true"})
    assert insecure.vault.tls.verify is False
    raw["vault"]["namespace"] = "from-config"
    assert parse_config(raw, environ={**ENV, "VAULT_NAMESPACE": "team-a"}).vault.namespace == (
        "from-config"
    )
