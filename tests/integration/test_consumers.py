"""Apps that read what rotator writes keep working through rotations; hooks tell them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.cookiejar import CookieJar
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import hvac
import pytest
from cryptography.fernet import InvalidToken
from django.conf import settings as django_settings
from django.core import signing

from rotator.client import SecretReader, verify_webhook
from tests.conftest import REPO, ConfigWriter, DaemonProcess, events, run_cli
from tests.integration.test_kv2_rotation import versions
from tests.support.vault_server import VaultServer, free_port

StartDaemon = Callable[..., DaemonProcess]

if not django_settings.configured:
    django_settings.configure(SECRET_KEY="unused-placeholder", USE_TZ=True)


class FlaskApp:
    """examples/flask_app as a real server process."""

    def __init__(self, vault: VaultServer, path: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "examples/flask_app/app.py",
                "run",
                "--port",
                str(self.port),
            ],
            cwd=REPO,
            env={
                **os.environ,
                "VAULT_ADDR": vault.address,
                "VAULT_TOKEN": vault.token,
                "SESSION_KEY_PATH": path,
                "KEY_REFRESH_SECONDS": "1",
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.call("GET", "/whoami")  # no key is read before the first login
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise RuntimeError("the Flask example did not start")

    def call(self, method: str, path: str) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(self.base + path, method=method)
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def wait_for_version(current: Callable[[], int], target: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if current() >= target:
            return
        time.sleep(0.1)
    raise AssertionError(f"version {target} not seen within {timeout}s")


def test_sessions_signed_values_and_fernet_tokens_survive_rotations_then_expire(
    vault_server: VaultServer,
    root_client: hvac.Client,
    write_config: ConfigWriter,
    prefix: str,
    start_daemon: StartDaemon,
) -> None:
    keep = 1
    config = write_config(
        [
            {
                "name": "flask",
                "path": f"{prefix}/flask",
                "generator": {"kind": "session_key"},
                "schedule": {"every": "3s"},
                "keep_previous": keep,
            },
            {
                "name": "django",
                "path": f"{prefix}/django",
                "generator": {"kind": "session_key"},
                "schedule": {"every": "3s"},
                "keep_previous": keep,
            },
            {
                "name": "fernet",
                "path": f"{prefix}/fernet",
                "generator": {"kind": "fernet_key"},
                "schedule": {"every": "3s"},
                "keep_previous": keep,
            },
        ]
    )
    daemon = start_daemon(config)
    daemon.wait_for(lambda found: sum(e["event"] == "rotation.succeeded" for e in found) >= 3)
    app = FlaskApp(vault_server, f"{prefix}/flask")
    try:
        django = SecretReader(root_client, f"{prefix}/django", min_refresh=0.2)
        fernet = SecretReader(root_client, f"{prefix}/fernet", min_refresh=0.2)

        status, body = app.call("POST", "/login/alice")
        assert status == 200
        flask_start = body["key_version"]
        ring = django.keyring()
        django_start = ring.version
        signed = signing.dumps({"user": "alice"}, key=ring.current.value)
        ring = fernet.keyring()
        fernet_start = ring.version
        token = ring.multi_fernet().encrypt(b"card 4242")

        def app_version() -> int:
            return int(app.call("GET", "/keys")[1]["version"])

        def django_ok() -> bool:
            settings = django.keyring().django_settings()
            try:
                signing.loads(
                    signed,
                    key=settings["SECRET_KEY"],
                    fallback_keys=settings["SECRET_KEY_FALLBACKS"],
                )
            except signing.BadSignature:
                return False
            return True

        def fernet_ok() -> bool:
            try:
                fernet.keyring().multi_fernet().decrypt(token)
            except InvalidToken:
                return False
            return True

        for rotations in range(1, keep + 2):
            wait_for_version(app_version, flask_start + rotations)
            accepted = app.call("GET", "/whoami")[0] == 200
            assert accepted is (rotations <= keep), ("flask", rotations)
            wait_for_version(lambda: django.keyring().version or 0, django_start + rotations)
            assert django_ok() is (rotations <= keep), ("django", rotations)
            wait_for_version(lambda: fernet.keyring().version or 0, fernet_start + rotations)
            assert fernet_ok() is (rotations <= keep), ("fernet", rotations)
    finally:
        app.stop()
    assert daemon.stop() == 0


class Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    delay: ClassVar[float] = 0.0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(self.delay)
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[Receiver]]]:
    class Handler(Receiver):
        received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
        delay: ClassVar[float] = 0.0

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/rotated", Handler
    server.shutdown()
    server.server_close()


def test_a_webhook_is_signed_and_carries_no_value(
    receiver: tuple[str, type[Receiver]],
    write_config: ConfigWriter,
    root_client: hvac.Client,
    prefix: str,
) -> None:
    url, handler = receiver
    config = write_config(
        [
            {
                "name": "w",
                "path": f"{prefix}/w",
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
                "hooks": [
                    {
                        "kind": "webhook",
                        "url": url + "?token=do-not-log",
                        "signing_key": "hook-signing-key",
                    }
                ],
            }
        ]
    )
    done = run_cli("-c", config, "rotate", "w")
    assert done.returncode == 0, done.stderr
    assert len(handler.received) == 1
    headers, body = handler.received[0]
    assert verify_webhook(
        body, headers["X-Rotator-Timestamp"], headers["X-Rotator-Signature"], "hook-signing-key"
    )
    event = json.loads(body)
    assert event["event"] == "rotation.succeeded"
    assert event["secret"] == "w"
    assert event["version"] == 1
    current = versions(root_client, f"{prefix}/w")[0]["current"]
    assert current not in body.decode()
    assert event["kid"] == versions(root_client, f"{prefix}/w")[0]["kid"]
    succeeded = [e for e in events(done.stderr) if e["event"] == "hook.succeeded"]
    assert succeeded[0]["target"] == url  # no query string: it may hold credentials
    assert "do-not-log" not in done.stderr


def test_a_hook_that_times_out_is_recorded_and_blocks_no_rotation(
    receiver: tuple[str, type[Receiver]],
    write_config: ConfigWriter,
    prefix: str,
    start_daemon: StartDaemon,
) -> None:
    url, handler = receiver
    handler.delay = 5.0
    config = write_config(
        [
            {
                "name": "slow",
                "path": f"{prefix}/slow",
                "generator": {"kind": "token"},
                "schedule": {"every": "2s"},
                "hooks": [{"kind": "webhook", "url": url, "timeout": "1s", "attempts": 1}],
            },
            {
                "name": "other",
                "path": f"{prefix}/other",
                "generator": {"kind": "token"},
                "schedule": {"every": "2s"},
            },
        ]
    )
    daemon = start_daemon(config)
    daemon.wait_for(lambda found: any(e["event"] == "hook.failed" for e in found), timeout=30)
    time.sleep(4)
    assert daemon.stop() == 0
    found = daemon.events()
    failed = [e for e in found if e["event"] == "hook.failed"]
    assert failed[0]["error"] == "timed out after 1s"
    for name in ("slow", "other"):
        times = [
            e["timestamp"]
            for e in found
            if e["event"] == "rotation.succeeded" and e["secret"] == name
        ]
        assert len(times) >= 3, (name, times)  # rotations kept their 2 s cadence


def test_a_command_hook_gets_names_not_values_unless_asked(
    write_config: ConfigWriter, root_client: hvac.Client, prefix: str, tmp_path: Path
) -> None:
    script = (
        "import json, os, sys; json.dump({'env': dict(os.environ), 'stdin': sys.stdin.read()"
        " if not sys.stdin.closed else ''}, open(sys.argv[1], 'w'))"
    )
    plain, given = tmp_path / "plain.json", tmp_path / "given.json"
    config = write_config(
        [
            {
                "name": "c1",
                "path": f"{prefix}/c1",
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
                "hooks": [{"kind": "command", "argv": [sys.executable, "-c", script, str(plain)]}],
            },
            {
                "name": "c2",
                "path": f"{prefix}/c2",
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
                "hooks": [
                    {
                        "kind": "command",
                        "argv": [sys.executable, "-c", script, str(given)],
                        "pass_value": True,
                        "env": {"APP": "web"},
                    }
                ],
            },
        ]
    )
    done = run_cli("-c", config, "rotate", "--all", env={"VAULT_TOKEN": "must-not-leak"})
    assert done.returncode == 0, done.stderr
    seen = json.loads(plain.read_text())
    assert seen["env"]["ROTATOR_SECRET"] == "c1"
    assert seen["env"]["ROTATOR_PATH"] == f"{prefix}/c1"
    assert seen["env"]["ROTATOR_VERSION"] == "1"
    assert "VAULT_TOKEN" not in seen["env"]
    assert seen["stdin"] == ""
    told = json.loads(given.read_text())
    assert told["env"]["APP"] == "web"
    assert told["stdin"] == versions(root_client, f"{prefix}/c2")[0]["current"]
    assert told["stdin"] not in done.stdout + done.stderr
    assert sum(e["event"] == "hook.succeeded" for e in events(done.stderr)) == 2
