"""Generators: every kind of value rotator can make, each a small pure object.

`GeneratorSpec` is the config type: a union of every kind, told apart by
its ``kind`` field, so an unknown kind is refused at load time with the
list of the known ones.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

from pydantic import Field, TypeAdapter

from rotator.generators._base import (
    SYSTEM_RANDOM,
    GeneratedSecret,
    Generator,
    RandomSource,
    SystemRandomSource,
)
from rotator.generators._bytes import HmacKeyGenerator, SessionKeyGenerator, TokenGenerator

__all__ = [
    "GENERATOR_KINDS",
    "SYSTEM_RANDOM",
    "GeneratedSecret",
    "Generator",
    "GeneratorSpec",
    "HmacKeyGenerator",
    "RandomSource",
    "SessionKeyGenerator",
    "SystemRandomSource",
    "TokenGenerator",
    "parse_generator",
]

GeneratorSpec: TypeAlias = Annotated[
    TokenGenerator | HmacKeyGenerator | SessionKeyGenerator,
    Field(discriminator="kind"),
]

GENERATOR_KINDS: dict[str, type[Generator]] = {
    cls.model_fields["kind"].default: cls
    for cls in (TokenGenerator, HmacKeyGenerator, SessionKeyGenerator)
}

_ADAPTER: TypeAdapter[GeneratorSpec] = TypeAdapter(GeneratorSpec)


def parse_generator(params: dict[str, object]) -> Generator:
    """Validate a generator mapping (``{"kind": "token", "bytes": 32}``)."""
    return _ADAPTER.validate_python(params)
