from __future__ import annotations

import base64
import binascii
import re

import pytest
from pydantic import ValidationError

from rotator.generators import (
    HmacKeyGenerator,
    SessionKeyGenerator,
    TokenGenerator,
    parse_generator,
)
from tests.support.seeded import SeededRandom


@pytest.mark.parametrize(
    ("encoding", "pattern", "decode"),
    [
        ("hex", r"^[0-9a-f]{64}$", bytes.fromhex),
        ("base64", r"^[A-Za-z0-9+/]{43}=$", base64.b64decode),
        ("urlsafe", r"^[A-Za-z0-9_-]{43}$", lambda s: base64.urlsafe_b64decode(s + "=")),
        ("raw-base64", r"^[A-Za-z0-9+/]{43}$", lambda s: base64.b64decode(s + "=")),
    ],
)
def test_token_encodings_decode_to_the_configured_bytes(encoding, pattern, decode) -> None:  # type: ignore[no-untyped-def]
    generator = parse_generator({"kind": "token", "bytes": 32, "encoding": encoding})
    for _ in range(20):
        text = generator.generate().value.reveal()
        assert re.match(pattern, text), text
        assert len(decode(text)) == 32


def test_values_differ_and_the_entropy_is_reported() -> None:
    generator = TokenGenerator()
    values = {generator.generate().value.reveal() for _ in range(100)}
    assert len(values) == 100
    assert generator.entropy_bits() == 256


def test_defaults_per_kind() -> None:
    assert HmacKeyGenerator().encoding == "base64"
    assert SessionKeyGenerator().size == 32
    assert TokenGenerator().encoding == "urlsafe"


def test_the_random_source_is_used_as_given() -> None:
    first = TokenGenerator(encoding="hex").generate(SeededRandom(5)).value.reveal()
    again = TokenGenerator(encoding="hex").generate(SeededRandom(5)).value.reveal()
    assert first == again
    assert binascii.unhexlify(first)


def test_weak_parameters_need_allow_weak() -> None:
    with pytest.raises(ValidationError, match="under the 64-bit minimum"):
        parse_generator({"kind": "token", "bytes": 4})
    weak = parse_generator({"kind": "token", "bytes": 4, "allow_weak": True})
    assert weak.entropy_bits() == 32


def test_a_generated_value_never_shows_in_a_repr() -> None:
    generated = TokenGenerator().generate()
    assert generated.value.reveal() not in repr(generated)
    assert generated.value.reveal() not in str(generated.value)
