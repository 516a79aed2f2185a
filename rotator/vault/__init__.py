"""Vault access: the only part of rotator that imports hvac.

`VaultConnection` authenticates and hands out clients; each engine is a
`rotator.store.SecretStore` in a module of its own; `translate_errors`
turns hvac's and requests' exceptions into rotator's.
"""

from __future__ import annotations

from rotator.vault.connection import VaultConnection
from rotator.vault.errors import translate_errors
from rotator.vault.kv2 import KV2Store

__all__ = ["KV2Store", "VaultConnection", "translate_errors"]
