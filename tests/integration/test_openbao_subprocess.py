"""The `bao server -dev` subprocess path of the test fixture, run whatever the session uses."""

from __future__ import annotations

from collections.abc import Iterator

import hvac
import pytest

from tests.conftest import ConfigWriter, run_cli
from tests.support.vault_server import BaoDevServer


@pytest.fixture(scope="module")
def dev_server() -> Iterator[BaoDevServer]:
    server = BaoDevServer().start()
    yield server
    server.stop()


def test_a_rotation_against_a_bao_subprocess(
    dev_server: BaoDevServer, write_config: ConfigWriter
) -> None:
    config = write_config(
        [
            {
                "name": "sub",
                "path": "sub/key",
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
            }
        ],
        address=dev_server.address,
        token=dev_server.token,
    )
    done = run_cli("-c", config, "rotate", "sub")
    assert done.returncode == 0, done.stderr
    client = hvac.Client(url=dev_server.address, token=dev_server.token)
    data = client.secrets.kv.v2.read_secret_version(path="sub/key", raise_on_deleted_version=True)[
        "data"
    ]["data"]
    assert data["current"]
    assert data["kid"]
