"""How a connection's HTTP session is set up (no request is sent)."""

from __future__ import annotations

import pytest

from rotator.config import parse_config
from rotator.vault import VaultConnection


def connection(**vault: object) -> VaultConnection:
    raw = {"vault": {"address": "http://vault.internal:8200", "auth": {"token": "t"}, **vault}}
    return VaultConnection(parse_config(raw, environ={}).vault)


def test_proxy_variables_are_read_once_and_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = connection().client().adapter.session
    assert session.trust_env is False  # not re-read at every request
    assert session.proxies.get("http") == "http://proxy.internal:3128"


def test_no_proxy_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "vault.internal")
    assert not connection().client().adapter.session.proxies.get("http")


def test_tls_settings_reach_the_session() -> None:
    session = connection(tls={"ca_cert": "/etc/ssl/vault-ca.pem"}).client().adapter.session
    assert session.verify == "/etc/ssl/vault-ca.pem"
    assert connection(tls={"verify": False}).client().adapter.session.verify is False
