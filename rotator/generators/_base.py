"""What every generator is: a pure, validated description of one kind of value."""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, Self

from pydantic import BaseModel, ConfigDict, model_validator

from rotator.values import SecretValue

__all__ = [
    "SYSTEM_RANDOM",
    "GeneratedSecret",
    "Generator",
    "RandomSource",
    "SystemRandomSource",
]

#: Below this many bits a generator is refused unless ``allow_weak: true``.
MIN_ENTROPY_BITS = 64


class RandomSource(Protocol):
    """Where generators take their randomness from.

    The daemon always passes `SYSTEM_RANDOM` (the `secrets` module); tests of
    the sampling logic pass a seeded source so that statistics never flake.
    """

    def token_bytes(self, n: int) -> bytes: ...

    def randbelow(self, n: int) -> int: ...


class SystemRandomSource:
    """The operating system's CSPRNG, through the `secrets` module."""

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)

    def randbelow(self, n: int) -> int:
        return secrets.randbelow(n)


SYSTEM_RANDOM: RandomSource = SystemRandomSource()


@dataclass(frozen=True, repr=False)
class GeneratedSecret:
    """One generated value and the public material that goes with it.

    `public` holds fields that are safe to publish (a public key PEM, a JWK);
    they are written beside the value in Vault. The value never renders.
    """

    value: SecretValue
    public: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"GeneratedSecret(value={self.value!r}, public={sorted(self.public)!r})"


class Generator(BaseModel, ABC):
    """Base of every generator kind.

    A generator is its own validated parameter set (a frozen pydantic model
    whose ``kind`` field names it) plus two pure methods: `generate` and
    `entropy_bits`. Parameters are validated when the config loads; a
    parameter set that could never produce a value, or that produces values
    weaker than 64 bits without ``allow_weak: true``, is refused there.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    allow_weak: bool = False

    #: Whether `generate` also returns public material (key pairs do).
    has_public_material: ClassVar[bool] = False

    @abstractmethod
    def generate(self, random: RandomSource = SYSTEM_RANDOM) -> GeneratedSecret:
        """Make one new value."""

    @abstractmethod
    def entropy_bits(self) -> float:
        """How many bits of entropy one value carries."""

    @model_validator(mode="after")
    def _check_strength(self) -> Self:
        bits = self.entropy_bits()
        if bits < MIN_ENTROPY_BITS and not self.allow_weak:
            raise ValueError(
                f"a {self.kind} with these parameters carries {bits:.1f} bits of entropy, "
                f"under the {MIN_ENTROPY_BITS}-bit minimum; raise it or set allow_weak: true"
            )
        return self
