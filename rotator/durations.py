"""Durations as operators write them: ``90s``, ``15m``, ``12h``, ``30d``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["MAX_DURATION", "format_duration", "parse_duration"]

#: The longest duration rotator accepts anywhere (ten years).
MAX_DURATION = timedelta(days=3653)

_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(text: str | int | float) -> timedelta:
    """Parse a duration; a bare number counts seconds.

    Raises `ValueError` with a message meant for the operator.
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a duration such as 90s, 15m, 12h or 30d, got {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"a duration cannot be negative, got {text!r}")
        return _bounded(float(text), text)
    cleaned = text.strip().replace(" ", "")
    if not cleaned:
        raise ValueError("expected a duration such as 90s, 15m, 12h or 30d, got an empty string")
    position = 0
    seconds = 0.0
    for match in _PART.finditer(cleaned):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(cleaned):
        raise ValueError(f"expected a duration such as 90s, 15m, 12h or 30d, got {text!r}")
    return _bounded(seconds, text)


def _bounded(seconds: float, text: object) -> timedelta:
    if not seconds <= MAX_DURATION.total_seconds():  # also refuses inf and nan
        raise ValueError(f"a duration must be at most ten years, got {text!r}")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Render a duration compactly (``1d2h``, ``90s`` becomes ``1m30s``)."""
    total = int(value.total_seconds())
    if total == 0:
        return "0s"
    sign = "-" if total < 0 else ""
    total = abs(total)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, total = divmod(total, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return sign + "".join(parts)
