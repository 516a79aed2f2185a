"""Random byte strings, encoded: `token`, `hmac_key`, `session_key`."""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field

from rotator.generators._base import SYSTEM_RANDOM, GeneratedSecret, Generator, RandomSource
from rotator.values import SecretValue

__all__ = ["ByteEncoding", "HmacKeyGenerator", "SessionKeyGenerator", "TokenGenerator", "encode"]

ByteEncoding = Literal["hex", "base64", "urlsafe", "raw-base64"]


def encode(raw: bytes, encoding: ByteEncoding) -> str:
    """Encode bytes as text: hex, base64 (padded), urlsafe or raw-base64 (both unpadded)."""
    if encoding == "hex":
        return raw.hex()
    if encoding == "base64":
        return base64.b64encode(raw).decode("ascii")
    if encoding == "urlsafe":
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    return base64.b64encode(raw).decode("ascii").rstrip("=")


class _RandomBytes(Generator):
    size: int = Field(32, alias="bytes", ge=1, le=4096, description="random bytes per value")
    encoding: ByteEncoding = "urlsafe"

    def generate(self, random: RandomSource = SYSTEM_RANDOM) -> GeneratedSecret:
        return GeneratedSecret(SecretValue(encode(random.token_bytes(self.size), self.encoding)))

    def entropy_bits(self) -> float:
        return 8.0 * self.size


class TokenGenerator(_RandomBytes):
    """An opaque bearer token."""

    kind: Literal["token"] = "token"


class HmacKeyGenerator(_RandomBytes):
    """A key for HMAC signatures; base64 by default, as most libraries expect."""

    kind: Literal["hmac_key"] = "hmac_key"
    encoding: ByteEncoding = "base64"


class SessionKeyGenerator(_RandomBytes):
    """A key for signing or encrypting sessions and cookies."""

    kind: Literal["session_key"] = "session_key"
    encoding: ByteEncoding = "base64"
