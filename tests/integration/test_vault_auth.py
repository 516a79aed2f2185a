"""Every way an operator connects: token, token file, AppRole, Kubernetes, JWT, TLS, namespaces."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import hvac
import jwt
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.conftest import REPO, ConfigWriter, DaemonProcess, run_cli
from tests.integration.test_kv2_rotation import versions
from tests.support.vault_server import BaoDevServer, RaftServer, VaultServer

StartDaemon = Callable[..., DaemonProcess]
SERVICE_ACCOUNT_UID = "9a4d0c2e-1111-2222-3333-444455556666"
POLICY = (REPO / "config" / "policy.hcl").read_text()


def named(kind: str) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    return lambda found: [e for e in found if e["event"] == kind]


def secret(prefix: str, name: str = "s", every: str = "1h") -> dict[str, Any]:
    return {
        "name": name,
        "path": f"{prefix}/{name}",
        "generator": {"kind": "token"},
        "schedule": {"every": every},
    }


@pytest.fixture
def rotator_policy(root_client: hvac.Client) -> str:
    """The shipped least-privilege policy, loaded into the session's OpenBao."""
    name = f"rotator-{uuid.uuid4().hex[:6]}"
    root_client.sys.create_or_update_policy(name, POLICY)
    return name


def test_the_shipped_policy_is_enough_for_every_command(
    root_client: hvac.Client,
    rotator_policy: str,
    write_config: ConfigWriter,
    prefix: str,
    start_daemon: StartDaemon,
) -> None:
    token = root_client.auth.token.create(
        policies=[rotator_policy], no_default_policy=True, ttl="1h"
    )["auth"]["client_token"]
    config = write_config([secret(prefix, "a"), secret(prefix, "b", every="2s")], token=token)
    for args in (
        ("validate", "--check-vault"),
        ("rotate", "--all"),
        ("rotate", "a"),
        ("status",),
        ("plan",),
        ("history", "a"),
        ("rollback", "a"),
    ):
        done = run_cli("-c", config, *args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    daemon = start_daemon(config)
    daemon.wait_for(lambda found: len(named("rotation.succeeded")(found)) >= 2)
    assert daemon.stop() == 0
    assert not named("rotation.failed")(daemon.events())
    # and it is narrow: nothing outside secret/ data and metadata
    client = hvac.Client(url=root_client.url, token=token)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.sys.list_mounted_secrets_engines()
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.delete_metadata_and_all_versions(path=f"{prefix}/a")


def test_a_denied_write_names_the_path_and_capability(
    root_client: hvac.Client, write_config: ConfigWriter, prefix: str
) -> None:
    root_client.sys.create_or_update_policy(
        "read-only-test", 'path "secret/*" { capabilities = ["read"] }'
    )
    token = root_client.auth.token.create(policies=["read-only-test"], ttl="1h")["auth"][
        "client_token"
    ]
    done = run_cli("-c", write_config([secret(prefix)], token=token), "rotate", "s")
    assert done.returncode == 1
    assert (
        f"secret/data/{prefix}/s: permission denied: the token lacks the 'create' capability"
        in done.stdout
    )


def test_an_expired_token_is_named_as_such(
    root_client: hvac.Client, write_config: ConfigWriter, prefix: str
) -> None:
    token = root_client.auth.token.create(policies=["root"], ttl="2s")["auth"]["client_token"]
    time.sleep(3)
    done = run_cli("-c", write_config([secret(prefix)], token=token), "rotate", "s")
    assert done.returncode == 1
    assert "does not accept the token (invalid, expired or revoked)" in done.stdout


def test_an_engine_that_is_not_mounted_is_named(write_config: ConfigWriter, prefix: str) -> None:
    config = write_config([{**secret(prefix), "mount": "nowhere"}])
    done = run_cli("-c", config, "rotate", "s")
    assert done.returncode == 1
    assert "no secrets engine is mounted at 'nowhere'" in done.stdout


def test_a_token_file_is_read_again_when_it_changes(
    root_client: hvac.Client,
    write_config: ConfigWriter,
    prefix: str,
    tmp_path: Path,
    start_daemon: StartDaemon,
) -> None:
    token_file = tmp_path / "token"
    first = root_client.auth.token.create(policies=["root"], ttl="1h")["auth"]["client_token"]
    token_file.write_text(first + "\n")
    config = write_config(
        [secret(prefix, "f", every="1s")], auth={"method": "token", "token_file": str(token_file)}
    )
    daemon = start_daemon(config)
    daemon.wait_for(lambda found: len(named("rotation.succeeded")(found)) >= 2)
    second = root_client.auth.token.create(policies=["root"], ttl="1h")["auth"]["client_token"]
    token_file.write_text(second + "\n")
    time.sleep(0.5)
    root_client.auth.token.revoke(first)
    mark = len(daemon.events())
    daemon.wait_for(lambda found: len(named("rotation.succeeded")(found[mark:])) >= 3)
    assert daemon.stop() == 0
    assert not named("rotation.failed")(daemon.events()[mark:])


def test_approle_logs_in_renews_and_logs_in_again_before_max_ttl(  # noqa: PLR0917 (fixtures)
    root_client: hvac.Client,
    rotator_policy: str,
    write_config: ConfigWriter,
    prefix: str,
    tmp_path: Path,
    start_daemon: StartDaemon,
) -> None:
    mount = f"approle-{uuid.uuid4().hex[:6]}"
    root_client.sys.enable_auth_method("approle", path=mount)
    root_client.auth.approle.create_or_update_approle(
        "rotator",
        token_policies=[rotator_policy],
        token_ttl="4s",
        token_max_ttl="9s",
        mount_point=mount,
    )
    role_id = root_client.auth.approle.read_role_id("rotator", mount_point=mount)["data"]["role_id"]
    secret_id = root_client.auth.approle.generate_secret_id("rotator", mount_point=mount)["data"][
        "secret_id"
    ]
    secret_id_file = tmp_path / "secret-id"
    secret_id_file.write_text(secret_id)
    config = write_config(
        [secret(prefix, "ar", every="1s")],
        auth={
            "method": "approle",
            "role_id": role_id,
            "secret_id_file": str(secret_id_file),
            "mount": mount,
        },
    )
    daemon = start_daemon(config)
    time.sleep(20)  # two max_ttl lifetimes and more
    assert daemon.stop() == 0
    found = daemon.events()
    assert len(named("vault.authenticated")(found)) >= 2  # logged in again before max_ttl
    assert named("vault.token_renewed")(found)
    # On a loaded machine a renewal can come late; what must hold is that the
    # daemon never stops: at most a stray failure, each followed by a success.
    failed = named("rotation.failed")(found)
    assert len(failed) <= 2, failed
    last = named("rotation.succeeded")(found)[-1]["timestamp"]
    assert all(event["timestamp"] < last for event in failed)
    assert len(named("rotation.succeeded")(found)) >= 10
    assert secret_id not in daemon.output() + daemon.errors()


def rsa_key() -> tuple[Any, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return key, public


def test_jwt_login_with_a_jwt_the_test_signs(
    root_client: hvac.Client,
    rotator_policy: str,
    write_config: ConfigWriter,
    prefix: str,
    tmp_path: Path,
) -> None:
    mount = f"jwt-{uuid.uuid4().hex[:6]}"
    key, public = rsa_key()
    root_client.sys.enable_auth_method("jwt", path=mount)
    root_client.write(f"auth/{mount}/config", jwt_validation_pubkeys=[public])
    root_client.write(
        f"auth/{mount}/role/rotator",
        role_type="jwt",
        user_claim="sub",
        bound_audiences=["rotator"],
        token_policies=[rotator_policy],
        token_ttl="1m",
    )
    token = jwt.encode(
        {
            "sub": "rotator",
            "aud": "rotator",
            "iat": int(time.time()),
            "exp": int(time.time()) + 600,
        },
        key,
        algorithm="RS256",
    )
    jwt_file = tmp_path / "jwt"
    jwt_file.write_text(token)
    config = write_config(
        [secret(prefix, "j")],
        auth={"method": "jwt", "role": "rotator", "jwt_file": str(jwt_file), "mount": mount},
    )
    done = run_cli("-c", config, "rotate", "j")
    assert done.returncode == 0, done.stderr
    assert len(versions(root_client, f"{prefix}/j")) == 1
    assert token not in done.stdout + done.stderr

    wrong, _ = rsa_key()
    jwt_file.write_text(
        jwt.encode(
            {"sub": "x", "aud": "rotator", "exp": int(time.time()) + 60}, wrong, algorithm="RS256"
        )
    )
    refused = run_cli("-c", config, "rotate", "j")
    assert refused.returncode == 1
    assert f"auth/{mount}/login: login with jwt failed" in refused.stdout


def self_signed_ca() -> str:
    """A CA certificate PEM: the auth method wants one even for an http:// API server."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test kubernetes CA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class TokenReview(BaseHTTPRequestHandler):
    """Answers Kubernetes TokenReview requests: the tokens in `accepted` are valid."""

    accepted: ClassVar[set[str]] = set()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        token = body["spec"]["token"]
        ok = token in self.accepted
        answer = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "status": {
                "authenticated": ok,
                "user": {
                    "username": "system:serviceaccount:secrets:rotator",
                    "uid": SERVICE_ACCOUNT_UID,
                    "groups": ["system:serviceaccounts"],
                },
            }
            if ok
            else {"authenticated": False},
        }
        data = json.dumps(answer).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def kube_api() -> Iterator[tuple[str, type[TokenReview]]]:
    class Handler(TokenReview):
        accepted: ClassVar[set[str]] = set()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Handler
    server.shutdown()
    server.server_close()


def test_kubernetes_login_through_a_tokenreview_api(
    kube_api: tuple[str, type[TokenReview]], write_config: ConfigWriter, tmp_path: Path
) -> None:
    host, handler = kube_api
    dev = BaoDevServer().start()  # its own server: the TokenReview API is on this host
    try:
        client = hvac.Client(url=dev.address, token=dev.token)
        client.sys.enable_auth_method("kubernetes", path="k8s")
        client.write(
            "auth/k8s/config",
            kubernetes_host=host,
            disable_local_ca_jwt=True,
            kubernetes_ca_cert=self_signed_ca(),
        )
        client.sys.create_or_update_policy("rotator", POLICY)
        client.write(
            "auth/k8s/role/rotator",
            bound_service_account_names=["rotator"],
            bound_service_account_namespaces=["secrets"],
            token_policies=["rotator"],
            token_ttl="1m",
        )
        key, _ = rsa_key()
        token = jwt.encode(
            {
                "iss": "kubernetes/serviceaccount",
                "sub": "system:serviceaccount:secrets:rotator",
                "kubernetes.io/serviceaccount/namespace": "secrets",
                "kubernetes.io/serviceaccount/service-account.name": "rotator",
                "kubernetes.io/serviceaccount/service-account.uid": SERVICE_ACCOUNT_UID,
            },
            key,
            algorithm="RS256",
        )
        handler.accepted.add(token)
        jwt_file = tmp_path / "sa-token"
        jwt_file.write_text(token)
        config = write_config(
            [secret("k8s", "k")],
            address=dev.address,
            auth={
                "method": "kubernetes",
                "role": "rotator",
                "jwt_file": str(jwt_file),
                "mount": "k8s",
            },
        )
        done = run_cli("-c", config, "rotate", "k")
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(versions(client, "k8s/k")) == 1
        handler.accepted.clear()  # the API server no longer vouches for the token
        refused = run_cli("-c", config, "rotate", "k")
        assert refused.returncode == 1
        assert "auth/k8s/login: login with kubernetes failed" in refused.stdout
    finally:
        dev.stop()


def test_tls_verifies_with_the_ca_and_fails_without_it(
    write_config: ConfigWriter, tmp_path: Path
) -> None:
    cert_dir = tmp_path / "tls"
    cert_dir.mkdir()
    dev = BaoDevServer(
        extra_args=("-dev-tls", f"-dev-tls-cert-dir={cert_dir}"),
        scheme="https",
        ca_cert=cert_dir / "vault-ca.pem",
    ).start()
    try:
        base = [secret("tls", "t")]
        plain = write_config(base, address=dev.address, token=dev.token, name="plain.yaml")
        failed = run_cli("-c", plain, "rotate", "t")
        assert failed.returncode == 1
        assert "TLS failed" in failed.stdout
        with_ca = write_config(
            base,
            address=dev.address,
            token=dev.token,
            name="ca.yaml",
            vault={"tls": {"ca_cert": str(cert_dir / "vault-ca.pem")}},
        )
        assert run_cli("-c", with_ca, "rotate", "t").returncode == 0
        from_env = run_cli(
            "-c", plain, "rotate", "t", env={"VAULT_CACERT": str(cert_dir / "vault-ca.pem")}
        )
        assert from_env.returncode == 0, from_env.stdout
    finally:
        dev.stop()


def test_a_namespace_scopes_every_request(
    root_client: hvac.Client, write_config: ConfigWriter, vault_server: VaultServer
) -> None:
    namespace = f"team-{uuid.uuid4().hex[:6]}"
    root_client.write(f"sys/namespaces/{namespace}")
    scoped = hvac.Client(url=vault_server.address, token=vault_server.token, namespace=namespace)
    scoped.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    config = write_config([secret("ns", "n")], vault={"namespace": namespace})
    done = run_cli("-c", config, "rotate", "n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(versions(scoped, "ns/n")) == 1
    with pytest.raises(hvac.exceptions.InvalidPath):
        root_client.secrets.kv.v2.read_secret_metadata(path="ns/n")


def test_the_standard_environment_variables_stand_in_for_the_vault_section(
    vault_server: VaultServer, tmp_path: Path, root_client: hvac.Client, prefix: str
) -> None:
    config = tmp_path / "env.yaml"
    config.write_text(
        yaml.safe_dump({"secrets": [secret(prefix, "e")], "server": {"listen": None}})
    )
    done = run_cli(
        "-c",
        config,
        "rotate",
        "e",
        env={"VAULT_ADDR": vault_server.address, "VAULT_TOKEN": vault_server.token},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(versions(root_client, f"{prefix}/e")) == 1


def issue_certificates(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1, and a client certificate, as PEM files."""
    now = datetime.now(UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def key_file(key: Any, file: str) -> Path:
        path = folder / file
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("test CA"))
        .issuer_name(name("test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    files = {"ca": folder / "ca.pem"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for role, usage in (
        ("server", ExtendedKeyUsageOID.SERVER_AUTH),
        ("client", ExtendedKeyUsageOID.CLIENT_AUTH),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(role))
            .issuer_name(name("test CA"))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if role == "server":
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        cert = builder.sign(ca_key, hashes.SHA256())
        cert_path = folder / f"{role}.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        prefix = "" if role == "server" else "client_"
        files[f"{prefix}cert"] = cert_path
        files[f"{prefix}key"] = key_file(key, f"{role}-key.pem")
    return files


def test_a_client_certificate_is_presented_when_vault_requires_one(
    write_config: ConfigWriter, tmp_path: Path
) -> None:
    files = issue_certificates(tmp_path)
    server = RaftServer(tmp_path / "openbao", tls=files)
    server.start()
    try:
        server.initialise()
        base = [secret("mtls", "m")]
        with_cert = write_config(
            base,
            address=server.address,
            token=server.token,
            name="c.yaml",
            vault={
                "tls": {
                    "ca_cert": str(files["ca"]),
                    "client_cert": str(files["client_cert"]),
                    "client_key": str(files["client_key"]),
                }
            },
        )
        done = run_cli("-c", with_cert, "rotate", "m")
        assert done.returncode == 0, done.stdout + done.stderr
        without = write_config(
            base,
            address=server.address,
            token=server.token,
            name="n.yaml",
            vault={"tls": {"ca_cert": str(files["ca"])}},
        )
        refused = run_cli("-c", without, "rotate", "m")
        assert refused.returncode == 1
        assert "TLS failed" in refused.stdout or "cannot reach Vault" in refused.stdout
    finally:
        server.close()
