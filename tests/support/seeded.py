"""A seeded `RandomSource`, so that tests of sampling logic never flake."""

from __future__ import annotations

import random


class SeededRandom:
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)  # noqa: S311 (reproducible on purpose: tests only)

    def token_bytes(self, n: int) -> bytes:
        return self._random.randbytes(n)

    def randbelow(self, n: int) -> int:
        return self._random.randrange(n)
