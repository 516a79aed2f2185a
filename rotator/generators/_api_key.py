"""API keys a scanner can recognise: ``prefix + random + checksum``.

Like the tokens of the large code hosts (``ghp_...``): a fixed prefix says
what the key is for, the random part is base62, and an optional six-digit
base62 CRC32 of everything before it lets a scanner recognise a leaked key
and lets a service reject a typo before any lookup (`check_api_key`).
"""

from __future__ import annotations

import zlib
from typing import Literal

from pydantic import Field

from rotator.generators._base import SYSTEM_RANDOM, GeneratedSecret, Generator, RandomSource
from rotator.generators._bytes import encode
from rotator.generators._text import BASE62, base62_width, to_base62
from rotator.values import SecretValue

__all__ = ["CHECKSUM_WIDTH", "ApiKeyGenerator", "api_key_checksum", "check_api_key"]

#: Base62 digits of the CRC32 checksum (62**6 > 2**32).
CHECKSUM_WIDTH = 6


def api_key_checksum(payload: str) -> str:
    """The CRC32 of `payload` in six base62 digits."""
    return to_base62(zlib.crc32(payload.encode("utf-8")), CHECKSUM_WIDTH)


def check_api_key(key: str, *, prefix: str | None = None) -> bool:
    """Whether `key` carries a valid checksum (and starts with `prefix`, if given).

    Cheap and offline: call it before looking a presented key up anywhere.
    """
    if prefix is not None and not key.startswith(prefix):
        return False
    if len(key) <= CHECKSUM_WIDTH + len(prefix or ""):
        return False
    payload, checksum = key[:-CHECKSUM_WIDTH], key[-CHECKSUM_WIDTH:]
    if any(char not in BASE62 for char in checksum):
        return False
    return api_key_checksum(payload) == checksum


class ApiKeyGenerator(Generator):
    """An API key: prefix, random part, optional checksum."""

    kind: Literal["api_key"] = "api_key"
    prefix: str = Field("", max_length=32, pattern=r"^[A-Za-z0-9_]*$")
    size: int = Field(24, alias="bytes", ge=1, le=256, description="random bytes")
    encoding: Literal["base62", "hex", "urlsafe"] = "base62"
    checksum: bool = True

    def _random_part(self, random: RandomSource) -> str:
        raw = random.token_bytes(self.size)
        if self.encoding == "base62":
            return to_base62(int.from_bytes(raw, "big"), base62_width(8 * self.size))
        return encode(raw, self.encoding)

    def generate(self, random: RandomSource = SYSTEM_RANDOM) -> GeneratedSecret:
        key = self.prefix + self._random_part(random)
        if self.checksum:
            key += api_key_checksum(key)
        return GeneratedSecret(SecretValue(key))

    def entropy_bits(self) -> float:
        return 8.0 * self.size
