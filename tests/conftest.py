"""Fixtures shared by every test: a real OpenBao for the session, configs, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
import yaml

from tests.support.vault_server import VaultServer, acquire_vault

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def vault_server() -> Iterator[VaultServer]:
    """The session's OpenBao (see tests/support/vault_server.py for the order)."""
    server = acquire_vault()
    try:
        expected = os.environ.get("ROTATOR_TEST_EXPECT_VAULT")
        if expected and not server.kind.startswith(expected):
            pytest.fail(f"expected a {expected} OpenBao, got {server.kind}")
        yield server
    finally:
        server.stop()


@pytest.fixture
def root_client(vault_server: VaultServer) -> hvac.Client:
    return hvac.Client(url=vault_server.address, token=vault_server.token)


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    """A path prefix no other test uses."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")[:40]
    return f"tests/{name}-{uuid.uuid4().hex[:8]}"


ConfigWriter = Callable[..., Path]


@pytest.fixture
def write_config(tmp_path: Path, vault_server: VaultServer) -> ConfigWriter:
    """Write a config file for the session's OpenBao and return its path."""

    def write(
        secrets: list[dict[str, Any]],
        *,
        address: str | None = None,
        token: str | None = None,
        audit_file: Path | None = None,
        stdout: bool = True,
        defaults: dict[str, Any] | None = None,
        name: str = "rotator.yaml",
        auth: dict[str, Any] | None = None,
        vault: dict[str, Any] | None = None,
        **extra: Any,
    ) -> Path:
        document: dict[str, Any] = {
            "vault": {
                "address": address or vault_server.address,
                "auth": auth or {"method": "token", "token": token or vault_server.token},
                "timeout": "5s",
                **(vault or {}),
            },
            "defaults": defaults
            or {"retry": {"attempts": 3, "backoff": "1s", "max_backoff": "2s"}},
            "audit": {
                "stdout": stdout,
                "file": str(audit_file) if audit_file else None,
                "format": "json",
            },
            "server": {"listen": "127.0.0.1:0"},
            "secrets": secrets,
            **extra,
        }
        path = tmp_path / name
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path

    return write


def rotator_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "rotator", *map(str, args)]


def run_cli(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real `rotator` command in a subprocess and capture everything it prints."""
    return subprocess.run(
        rotator_command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=REPO,
        check=False,
    )


def events(text: str) -> list[dict[str, Any]]:
    """The audit events in a block of output (the lines that are JSON audit objects)."""
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith('{"timestamp"'):
            found.append(json.loads(line))
    return found


def leaks(values: Iterable[str], captured: str) -> list[str]:
    """The values found in `captured`: whole, JSON-escaped, or any long line (PEM bodies)."""
    found = []
    for value in values:
        pieces = {value, json.dumps(value)[1:-1]}
        pieces.update(
            line for line in value.splitlines() if len(line) >= 16 and not line.startswith("-----")
        )
        if any(piece in captured for piece in pieces):
            found.append(value)
    return found


ALL_KIND_GENERATORS: list[dict[str, Any]] = [
    {"kind": "token"},
    {"kind": "hmac_key"},
    {"kind": "session_key"},
    {"kind": "api_key", "prefix": "rk_test_"},
    {"kind": "password", "length": 20},
    {"kind": "passphrase", "words": 6},
    {"kind": "numeric_code", "digits": 12, "allow_weak": True},
    {"kind": "fernet_key"},
    {"kind": "uuid4"},
    {"kind": "ed25519"},
    {"kind": "rsa", "bits": 2048},
]


class DaemonProcess:
    """`rotator run` as a real subprocess, its audit events read from stdout."""

    def __init__(
        self, config: Path, *args: str, env: dict[str, str] | None = None, log_dir: Path
    ) -> None:
        self.stdout_path = log_dir / f"daemon-{uuid.uuid4().hex[:6]}.out"
        self.stderr_path = self.stdout_path.with_suffix(".err")
        self._stdout = self.stdout_path.open("w")
        self._stderr = self.stderr_path.open("w")
        self.process = subprocess.Popen(
            rotator_command("-c", config, "run", *args),
            stdout=self._stdout,
            stderr=self._stderr,
            env={**os.environ, **(env or {})},
            cwd=REPO,
        )

    def output(self) -> str:
        return self.stdout_path.read_text()

    def errors(self) -> str:
        return self.stderr_path.read_text()

    def events(self) -> list[dict[str, Any]]:
        return events(self.output())

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 30
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events()
            if predicate(found):
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(
            f"condition not met within {timeout}s (exit {self.process.poll()});\n"
            f"stdout:\n{self.output()[-4000:]}\nstderr:\n{self.errors()[-4000:]}"
        )

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._stdout.close()
        self._stderr.close()


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    started: list[DaemonProcess] = []

    def start(config: Path, *args: str, env: dict[str, str] | None = None) -> DaemonProcess:
        daemon = DaemonProcess(config, *args, env=env, log_dir=tmp_path)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.close()
