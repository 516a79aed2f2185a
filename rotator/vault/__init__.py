"""Vault access: the only part of rotator that imports hvac.

`VaultConnection` authenticates and hands out clients; each engine is a
`rotator.store.SecretStore` in a module of its own (`KV2Store`,
`KV1Store`, `TransitStore`), and `VaultStore` routes each secret to its
engine's store; `translate_errors` turns hvac's and requests' exceptions
into rotator's.
"""

from __future__ import annotations

from rotator.vault.connection import VaultConnection, VaultHealth
from rotator.vault.engines import VaultStore
from rotator.vault.errors import translate_errors
from rotator.vault.kv1 import KV1Store
from rotator.vault.kv2 import KV2Store
from rotator.vault.transit import TransitStore

__all__ = [
    "KV1Store",
    "KV2Store",
    "TransitStore",
    "VaultConnection",
    "VaultHealth",
    "VaultStore",
    "translate_errors",
]
