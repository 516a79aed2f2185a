"""The container path for real: the project's Dockerfile and docker-compose.yml under Podman.

Builds a Python base image from Debian's packages and an OpenBao image from
the `bao` binary (no registry is needed), builds rotator's image and the
example app's from local wheels, runs docker-compose.yml with podman-compose,
and checks that the containerised daemon rotates in the containerised
OpenBao, as a user that is not root, and that the app's sessions survive.
Skipped where Podman is missing, unless ROTATOR_TEST_REQUIRE_CONTAINERS=1
(CI) makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar

import hvac
import pytest

from tests.conftest import REPO
from tests.support.vault_server import free_port

pytestmark = [pytest.mark.container, pytest.mark.slow]

CONTAINERS_CONF = REPO / "scripts" / "containers" / "containers.conf"


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    vault: str
    app: str
    metrics: str

    def compose(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "podman_compose", "-p", self.project, *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def run(*args: str, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]} {done.stderr[-2000:]}"
    return done.stdout.strip()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    if (
        shutil.which("podman") is None
        or subprocess.run(
            ["podman", "info"], env=env, capture_output=True, check=False, timeout=60
        ).returncode
        != 0
    ):
        if os.environ.get("ROTATOR_TEST_REQUIRE_CONTAINERS") == "1":
            pytest.fail("Podman is required here (ROTATOR_TEST_REQUIRE_CONTAINERS=1)")
        pytest.skip("Podman is not available")
    base = run("scripts/podman-python-base.sh", env=env)
    openbao = run("scripts/podman-openbao-image.sh", sys.executable, env=env)
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--disable-pip-version-check",
        ".[examples]",
        "-w",
        "build/wheels",
        env=env,
    )
    ports = {name: free_port() for name in ("OPENBAO_PORT", "APP_PORT", "ROTATOR_METRICS_PORT")}
    env.update(
        {
            "OPENBAO_IMAGE": openbao,
            "ROTATOR_BASE_IMAGE": base,
            "ROTATOR_WHEELS": "local",
            **{name: str(port) for name, port in ports.items()},
        }
    )
    stack = Stack(
        project=f"rotator-test-{uuid.uuid4().hex[:6]}",
        env=env,
        vault=f"http://127.0.0.1:{ports['OPENBAO_PORT']}",
        app=f"http://127.0.0.1:{ports['APP_PORT']}",
        metrics=f"http://127.0.0.1:{ports['ROTATOR_METRICS_PORT']}/metrics",
    )
    built = stack.compose("build")
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    try:
        started = stack.compose("up", "-d")
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        yield stack
    finally:
        stack.compose("down", "-v", timeout=120)


def container(stack: Stack, service: str) -> str:
    return f"{stack.project}_{service}_1"


def wait_for_version(client: hvac.Client, minimum: int, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            meta = client.secrets.kv.v2.read_secret_metadata(path="demo/web/session")
            if meta["data"]["current_version"] >= minimum:
                return int(meta["data"]["current_version"])
        except (hvac.exceptions.VaultError, OSError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"demo/web/session did not reach version {minimum}")


def test_the_containerised_daemon_rotates_as_a_non_root_user(stack: Stack) -> None:
    client = hvac.Client(url=stack.vault, token="root")
    first = wait_for_version(client, 1)
    wait_for_version(client, first + 1, timeout=60)  # a scheduled rotation, 20 s later
    data = client.secrets.kv.v2.read_secret_version(
        path="demo/web/session", raise_on_deleted_version=True
    )["data"]["data"]
    assert data["previous"] == data["keyring"][1]["value"]
    uid = run("podman", "exec", container(stack, "rotator"), "id", "-u", env=stack.env)
    assert uid == "10001"
    user = run(
        "podman",
        "image",
        "inspect",
        "localhost/rotator:dev",
        "--format",
        "{{.Config.User}}",
        env=stack.env,
    )
    assert user.split(":")[0] not in ("", "0", "root")
    with urllib.request.urlopen(stack.metrics, timeout=10) as response:
        assert 'rotator_rotations_total{outcome="succeeded",secret="web-session"}' in (
            response.read().decode()
        )
    logs = run("podman", "logs", container(stack, "rotator"), env=stack.env)
    assert data["current"] not in logs


def test_the_example_app_keeps_its_session_through_a_rotation(stack: Stack) -> None:
    client = hvac.Client(url=stack.vault, token="root")
    wait_for_version(client, 1)
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def call(method: str, path: str) -> tuple[int, dict[str, object]]:
        request = urllib.request.Request(stack.app + path, method=method)
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    deadline = time.monotonic() + 60
    status, body = 0, {}
    while time.monotonic() < deadline:
        try:
            status, body = call("POST", "/login/alice")
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    assert status == 200, body
    version = int(str(body["key_version"]))
    wait_for_version(client, version + 1, timeout=60)
    time.sleep(6)  # the app refreshes its keyring within KEY_REFRESH_SECONDS=5
    status, body = call("GET", "/whoami")
    assert status == 200, body
    assert body["user"] == "alice"
    assert int(str(body["key_version"])) > version
