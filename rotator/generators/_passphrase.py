"""Passphrases: words drawn uniformly from the EFF large word list."""

from __future__ import annotations

import functools
import math
from importlib import resources
from typing import Literal

from pydantic import Field

from rotator.generators._base import SYSTEM_RANDOM, GeneratedSecret, Generator, RandomSource
from rotator.values import SecretValue

__all__ = ["PassphraseGenerator", "word_list"]


@functools.cache
def word_list() -> tuple[str, ...]:
    """The EFF large word list shipped with rotator (7,776 words; CC BY 3.0 US)."""
    text = (
        resources.files("rotator.generators")
        .joinpath("wordlists/eff_large.txt")
        .read_text(encoding="utf-8")
    )
    return tuple(line.strip() for line in text.splitlines() if line.strip())


class PassphraseGenerator(Generator):
    """`words` random words joined by `separator`.

    `capitalize` capitalises every word (no entropy, for policies that ask
    for upper case); `digit` appends one random digit to one random word.
    """

    kind: Literal["passphrase"] = "passphrase"
    words: int = Field(6, ge=1, le=64)
    separator: str = Field("-", max_length=8)
    capitalize: bool = False
    digit: bool = False

    def generate(self, random: RandomSource = SYSTEM_RANDOM) -> GeneratedSecret:
        words = word_list()
        chosen = [words[random.randbelow(len(words))] for _ in range(self.words)]
        if self.capitalize:
            chosen = [word.capitalize() for word in chosen]
        if self.digit:
            index = random.randbelow(len(chosen))
            chosen[index] += str(random.randbelow(10))
        return GeneratedSecret(SecretValue(self.separator.join(chosen)))

    def entropy_bits(self) -> float:
        bits = self.words * math.log2(len(word_list()))
        if self.digit:
            bits += math.log2(10 * self.words)
        return bits
