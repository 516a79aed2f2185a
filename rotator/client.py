"""Helpers for the apps that read what rotator writes.

`check_api_key` verifies the checksum of an ``api_key`` before any lookup,
so that a typo or a random string is rejected without touching a database
or Vault.
"""

from __future__ import annotations

from rotator.generators import check_api_key

__all__ = ["check_api_key"]
