"""Passwords with character classes and per-class minimums, sampled exactly uniformly.

A policy names the classes a password may use (lower, upper, digits,
symbols, and one custom set), the minimum count of each, and characters to
leave out. Every password that meets the policy is equally likely:

1. count, per class, the passwords that meet the policy (a small dynamic
   programme over the classes, in exact integers);
2. draw how many characters each class gets, with the probability of that
   split among all valid passwords;
3. shuffle the class labels over the positions (Fisher-Yates), so no class
   owns a fixed position;
4. draw each character uniformly from its class.

Every draw is `randbelow`, so there is no modulo bias, and the entropy is
exactly log2 of the number of valid passwords.
"""

from __future__ import annotations

import functools
import math
import string
from functools import cached_property
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from rotator.generators._base import SYSTEM_RANDOM, GeneratedSecret, Generator, RandomSource
from rotator.values import SecretValue

__all__ = ["AMBIGUOUS", "DEFAULT_SYMBOLS", "CustomClass", "PasswordGenerator"]

#: Symbols that survive shells, URLs, JSON and config files without quoting trouble.
DEFAULT_SYMBOLS = "!#%&()*+,-.:;<=>?@[]^_{|}~"
#: Characters people confuse when they read or type a password.
AMBIGUOUS = "0Oo1lI|"


def _false_is_none(value: Any) -> Any:
    if value is False or (isinstance(value, str) and value.lower() in {"false", "no", "off"}):
        return None
    return value


#: A class minimum: a count (0 = allowed, not required), or false/null = never used.
ClassMinimum = Annotated[
    Annotated[int, Field(ge=0, le=1024)] | None, BeforeValidator(_false_is_none)
]


@functools.lru_cache(maxsize=256)
def _count_table(classes: tuple[tuple[int, int], ...], length: int) -> tuple[tuple[int, ...], ...]:
    """``table[k][r]``: the ways to fill `r` positions with classes k.. meeting their minimums.

    `classes` holds (size, minimum) per class. Cached: a config with many
    secrets of one policy computes it once.
    """
    table = [[0] * (length + 1) for _ in range(len(classes) + 1)]
    table[len(classes)][0] = 1
    for k in range(len(classes) - 1, -1, -1):
        size, minimum = classes[k]
        for r in range(length + 1):
            table[k][r] = sum(
                math.comb(r, c) * size**c * table[k + 1][r - c] for c in range(minimum, r + 1)
            )
    return tuple(tuple(row) for row in table)


class CustomClass(BaseModel):
    """An extra character class, such as ``{chars: "äöü", min: 1}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chars: str = Field(min_length=1)
    min: int = Field(0, ge=0, le=1024)


class PasswordGenerator(Generator):
    """A password of `length` characters that meets every class minimum."""

    kind: Literal["password"] = "password"
    length: int = Field(24, ge=1, le=256)
    lower: ClassMinimum = 1
    upper: ClassMinimum = 1
    digits: ClassMinimum = 1
    symbols: ClassMinimum = 1
    symbol_chars: str = Field(DEFAULT_SYMBOLS, min_length=1)
    custom: CustomClass | None = None
    exclude: str = ""
    exclude_ambiguous: bool = False

    @cached_property
    def _classes(self) -> tuple[tuple[str, str, int], ...]:
        """(name, characters, minimum) per class in use: disjoint, non-empty."""
        removed = set(self.exclude)
        if self.exclude_ambiguous:
            removed |= set(AMBIGUOUS)
        custom_chars = set(self.custom.chars) if self.custom is not None else set()
        wanted: list[tuple[str, str, int | None]] = [
            ("lower", string.ascii_lowercase, self.lower),
            ("upper", string.ascii_uppercase, self.upper),
            ("digits", string.digits, self.digits),
            ("symbols", self.symbol_chars, self.symbols),
        ]
        if self.custom is not None:
            wanted.append(("custom", self.custom.chars, self.custom.min))
        classes: list[tuple[str, str, int]] = []
        seen: set[str] = set()
        for name, chars, minimum in wanted:
            if minimum is None:
                continue
            # A character belongs to one class only: the custom class wins, then first come.
            owned = custom_chars if name != "custom" else set()
            pool = "".join(
                sorted({c for c in chars if c not in removed and c not in owned and c not in seen})
            )
            seen.update(pool)
            if not pool:
                if minimum > 0:
                    raise ValueError(
                        f"class {name} requires {minimum} character(s) but has none left "
                        "after exclusions"
                    )
                continue
            classes.append((name, pool, minimum))
        if not classes:
            raise ValueError("no characters are left to build a password from")
        required = sum(minimum for _, _, minimum in classes)
        if required > self.length:
            raise ValueError(
                f"the class minimums add up to {required}, more than length {self.length}"
            )
        return tuple(classes)

    @cached_property
    def _counts(self) -> tuple[tuple[int, ...], ...]:
        return _count_table(
            tuple((len(chars), minimum) for _, chars, minimum in self._classes), self.length
        )

    @model_validator(mode="after")
    def _check_policy(self) -> Self:
        self._classes  # noqa: B018 (raises ValueError naming the problem)
        if self._counts[0][self.length] == 0:
            raise ValueError("no password can meet this policy")
        return self

    def entropy_bits(self) -> float:
        return math.log2(self._counts[0][self.length])

    def generate(self, random: RandomSource = SYSTEM_RANDOM) -> GeneratedSecret:
        classes, counts = self._classes, self._counts
        labels: list[int] = []
        remaining = self.length
        for k, (_, chars, minimum) in enumerate(classes):
            # Draw how many characters class k gets, weighted by the valid passwords.
            pick = random.randbelow(counts[k][remaining])
            for c in range(minimum, remaining + 1):
                weight = math.comb(remaining, c) * len(chars) ** c * counts[k + 1][remaining - c]
                if pick < weight:
                    break
                pick -= weight
            labels.extend([k] * c)
            remaining -= c
        for i in range(len(labels) - 1, 0, -1):  # Fisher-Yates
            j = random.randbelow(i + 1)
            labels[i], labels[j] = labels[j], labels[i]
        text = "".join(classes[k][1][random.randbelow(len(classes[k][1]))] for k in labels)
        return GeneratedSecret(SecretValue(text))
