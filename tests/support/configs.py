"""Small builders for unit tests of the core: one validated secret, a fixed clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rotator.config import SecretConfig, parse_config


def one_secret(**fields: Any) -> SecretConfig:
    """A validated secret named ``s`` (token, every hour), with `fields` changed."""
    raw = {
        "vault": {"auth": {"token": "x"}},
        "secrets": [
            {
                "name": "s",
                "path": "p",
                "generator": {"kind": "token"},
                "schedule": {"every": "1h"},
                **fields,
            }
        ],
    }
    return parse_config(raw, environ={}).secrets[0]


class FixedClock:
    """A clock that says what the test sets."""

    def __init__(self, now: datetime) -> None:
        self.now_value = now

    def now(self) -> datetime:
        return self.now_value
