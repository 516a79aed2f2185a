"""Bad input, fuzzed: a thousand and more generated configs through the real CLI.

Every one either loads, or is refused with a clean exit 2 (a `ConfigError`
naming a key), and a refused one never opens a connection to Vault: the
config points at a proxy that counts connections.
"""

from __future__ import annotations

import contextlib
import copy
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rotator.cli import main
from rotator.config import load_config
from rotator.errors import ConfigError
from tests.support.proxy import FaultProxy
from tests.support.vault_server import BaoDevServer

pytestmark = [pytest.mark.faults]

EXAMPLES = 1200
TRIED: dict[str, int] = {"refused": 0, "loaded": 0}


@pytest.fixture(scope="module")
def counted_vault() -> Iterator[tuple[BaoDevServer, FaultProxy]]:
    server = BaoDevServer().start()
    target = urlparse(server.address)
    proxy = FaultProxy(target.hostname or "127.0.0.1", target.port or 8200)
    yield server, proxy
    proxy.close()
    server.stop()


def base_config(address: str, token: str) -> dict[str, Any]:
    return {
        "vault": {"address": address, "auth": {"method": "token", "token": token}, "timeout": "3s"},
        "defaults": {"keep_previous": 1, "retry": {"attempts": 2, "backoff": "1s"}},
        "audit": {"stdout": True, "format": "json"},
        "server": {"listen": None},
        "secrets": [
            {
                "name": "a",
                "path": "fuzz/a",
                "generator": {"kind": "token", "bytes": 16},
                "schedule": {"every": "1h"},
            },
            {
                "name": "b",
                "path": "fuzz/b",
                "generator": {"kind": "password", "length": 20},
                "schedule": {"cron": "0 3 * * *", "timezone": "UTC"},
                "window": {"start": "02:00", "end": "04:00"},
            },
        ],
    }


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "0s",
            "1h",
            "-5m",
            "${UNSET_VAR}",
            "${X:-1}",
            "kv2",
            "transit",
            "token",
            "password",
            "25:00",
            "/x",
            "a/../b",
            "http://",
            "sk_",
            "x" * 300,
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths_of(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(node, dict):
        for key, child in node.items():
            found += paths_of(child, (*here, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += paths_of(child, (*here, index))
    return found


def mutate(document: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    document = copy.deepcopy(document)
    for _ in range(data.draw(st.integers(1, 4))):
        places = paths_of(document)[1:]
        if not places:
            break
        path = data.draw(st.sampled_from(places))
        parent: Any = document
        for step in path[:-1]:
            parent = parent[step]
        action = data.draw(st.sampled_from(["delete", "replace", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.text(min_size=1, max_size=10))] = data.draw(values)
        else:
            parent[path[-1]] = data.draw(values)
    return document


documents = st.one_of(st.just(None), values)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_generated_configs_load_or_exit_2_without_touching_vault(
    counted_vault: tuple[BaoDevServer, FaultProxy], data: st.DataObject
) -> None:
    server, proxy = counted_vault
    kind = data.draw(st.sampled_from(["mutated", "mutated", "mutated", "random", "text"]))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rotator.yaml"
        if kind == "mutated":
            document = mutate(base_config(proxy.address, server.token), data)
            path.write_text(yaml.safe_dump(document))
        elif kind == "random":
            path.write_text(yaml.safe_dump(data.draw(documents)))
        else:
            path.write_text(data.draw(st.text(max_size=200)))
        try:
            load_config(path)
            refused = False
        except ConfigError:
            refused = True
        before = proxy.connections
        out, err = io.StringIO(), io.StringIO()
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            pytest.raises(SystemExit) as exit_info,
        ):
            main(["-c", str(path), "rotate", "--all"])
    code = exit_info.value.code
    TRIED["refused" if refused else "loaded"] += 1
    assert code in (0, 1, 2), (code, err.getvalue()[-500:])
    if refused:
        assert code == 2, err.getvalue()[-500:]
        assert err.getvalue().startswith("rotator: error: ")
        assert proxy.connections == before, "a refused config reached Vault"


def test_the_fuzz_tried_enough_configs_of_both_kinds() -> None:
    """Runs after the fuzz above: it must have tried at least a thousand configs."""
    assert TRIED["refused"] + TRIED["loaded"] >= 1000, TRIED
    assert TRIED["refused"] >= 500, TRIED
    assert TRIED["loaded"] >= 20, TRIED
