"""Kinds with a fixed format: `numeric_code`, `fernet_key`, `uuid4`."""

from __future__ import annotations

import base64
import math
import uuid
from typing import Literal

from pydantic import Field

from rotator.generators._base import SYSTEM_RANDOM, GeneratedSecret, Generator, RandomSource
from rotator.values import SecretValue

__all__ = ["FernetKeyGenerator", "NumericCodeGenerator", "Uuid4Generator"]


class NumericCodeGenerator(Generator):
    """`digits` decimal digits, uniform, leading zeros kept (``007291``)."""

    kind: Literal["numeric_code"] = "numeric_code"
    digits: int = Field(6, ge=1, le=256)

    def generate(self, random: RandomSource = SYSTEM_RANDOM) -> GeneratedSecret:
        number = random.randbelow(10**self.digits)
        return GeneratedSecret(SecretValue(str(number).rjust(self.digits, "0")))

    def entropy_bits(self) -> float:
        return self.digits * math.log2(10)


class FernetKeyGenerator(Generator):
    """A key for `cryptography.fernet.Fernet`: 32 random bytes, url-safe base64."""

    kind: Literal["fernet_key"] = "fernet_key"

    def generate(self, random: RandomSource = SYSTEM_RANDOM) -> GeneratedSecret:
        return GeneratedSecret(
            SecretValue(base64.urlsafe_b64encode(random.token_bytes(32)).decode("ascii"))
        )

    def entropy_bits(self) -> float:
        # Fernet splits the 32 bytes into a signing and an encryption key.
        return 256.0


class Uuid4Generator(Generator):
    """A random UUID (version 4): 122 random bits."""

    kind: Literal["uuid4"] = "uuid4"

    def generate(self, random: RandomSource = SYSTEM_RANDOM) -> GeneratedSecret:
        return GeneratedSecret(SecretValue(str(uuid.UUID(bytes=random.token_bytes(16), version=4))))

    def entropy_bits(self) -> float:
        return 122.0
