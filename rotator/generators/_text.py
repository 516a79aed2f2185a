"""Text encodings the generators share."""

from __future__ import annotations

import math

__all__ = ["BASE62", "base62_width", "to_base62"]

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def to_base62(number: int, width: int) -> str:
    """`number` in base 62, left-padded with ``0`` to `width` digits."""
    if number < 0:
        raise ValueError("base62 encodes non-negative numbers")
    digits = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(BASE62[digit])
    text = "".join(reversed(digits)).rjust(width, "0")
    if len(text) > width:
        raise ValueError(f"{len(text)} base62 digits do not fit in {width}")
    return text


def base62_width(bits: int) -> int:
    """How many base62 digits hold any number of `bits` bits."""
    return math.ceil(bits / math.log2(62))
