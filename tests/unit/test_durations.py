from __future__ import annotations

from datetime import timedelta

import pytest

from rotator.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("12h", timedelta(hours=12)),
        ("30d", timedelta(days=30)),
        ("1h30m", timedelta(minutes=90)),
        ("1w", timedelta(days=7)),
        ("250ms", timedelta(milliseconds=250)),
        (45, timedelta(seconds=45)),
        ("0s", timedelta(0)),
    ],
)
def test_parse(text: str | int, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "10", "h", "10x", "1h 30", "-5s", "s10", True, -1])
def test_parse_rejects(text: str | int) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_round_trips() -> None:
    for text in ("1d2h", "1m30s", "45s", "3h"):
        assert format_duration(parse_duration(text)) == text
    assert format_duration(timedelta(0)) == "0s"


@pytest.mark.parametrize("text", [10**12, "100000d", 1e300, float("inf"), "9999999999999w"])
def test_absurd_durations_are_refused_not_overflowed(text: str | float) -> None:
    with pytest.raises(ValueError, match="at most ten years"):
        parse_duration(text)
