"""Generators: every kind of value rotator can make, each a small pure object.

A generator is its own validated parameter set plus `generate(random)` and
`entropy_bits()`. `GeneratorSpec` is the config type: a union of every
kind, told apart by its ``kind`` field, so an unknown kind is refused at
load time with the list of the known ones.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

from pydantic import Field, TypeAdapter

from rotator.generators._api_key import ApiKeyGenerator, api_key_checksum, check_api_key
from rotator.generators._base import (
    MIN_ENTROPY_BITS,
    SYSTEM_RANDOM,
    GeneratedSecret,
    Generator,
    RandomSource,
    SystemRandomSource,
)
from rotator.generators._bytes import HmacKeyGenerator, SessionKeyGenerator, TokenGenerator
from rotator.generators._keypair import Ed25519Generator, RsaGenerator
from rotator.generators._passphrase import PassphraseGenerator, word_list
from rotator.generators._password import AMBIGUOUS, DEFAULT_SYMBOLS, CustomClass, PasswordGenerator
from rotator.generators._simple import FernetKeyGenerator, NumericCodeGenerator, Uuid4Generator

__all__ = [
    "AMBIGUOUS",
    "DEFAULT_SYMBOLS",
    "GENERATOR_KINDS",
    "MIN_ENTROPY_BITS",
    "SYSTEM_RANDOM",
    "ApiKeyGenerator",
    "CustomClass",
    "Ed25519Generator",
    "FernetKeyGenerator",
    "GeneratedSecret",
    "Generator",
    "GeneratorSpec",
    "HmacKeyGenerator",
    "NumericCodeGenerator",
    "PassphraseGenerator",
    "PasswordGenerator",
    "RandomSource",
    "RsaGenerator",
    "SessionKeyGenerator",
    "SystemRandomSource",
    "TokenGenerator",
    "Uuid4Generator",
    "api_key_checksum",
    "check_api_key",
    "parse_generator",
    "word_list",
]

GeneratorSpec: TypeAlias = Annotated[
    TokenGenerator
    | HmacKeyGenerator
    | SessionKeyGenerator
    | ApiKeyGenerator
    | PasswordGenerator
    | PassphraseGenerator
    | NumericCodeGenerator
    | FernetKeyGenerator
    | Uuid4Generator
    | Ed25519Generator
    | RsaGenerator,
    Field(discriminator="kind"),
]

#: Every kind by its name, in the order of the design.
GENERATOR_KINDS: dict[str, type[Generator]] = {
    cls.model_fields["kind"].default: cls
    for cls in (
        TokenGenerator,
        HmacKeyGenerator,
        SessionKeyGenerator,
        ApiKeyGenerator,
        PasswordGenerator,
        PassphraseGenerator,
        NumericCodeGenerator,
        FernetKeyGenerator,
        Uuid4Generator,
        Ed25519Generator,
        RsaGenerator,
    )
}

_ADAPTER: TypeAdapter[GeneratorSpec] = TypeAdapter(GeneratorSpec)


def parse_generator(params: dict[str, object]) -> Generator:
    """Validate a generator mapping (``{"kind": "token", "bytes": 32}``)."""
    return _ADAPTER.validate_python(params)
