"""Secret values that never show themselves, and the fingerprints that catch leaks.

A `SecretValue` holds one generated or read value. Its `repr` and `str`
are fixed placeholders, so a value that reaches a log call, an f-string or a
traceback by mistake prints as ``SecretValue('**********')``. The only way to
the text is `reveal()`, which the store calls when it writes to Vault and the
CLI calls for ``rotator generate``.

Every `SecretValue` made in this process also leaves a keyed fingerprint
(HMAC-SHA256 under a random per-process key) in `FINGERPRINTS`, never the
value. The audit log's redaction step asks it whether a string, or a part of
an error message, is a value this process has seen; fingerprints expire
after an hour and at most `max_entries` are kept.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["FINGERPRINTS", "REDACTED", "Fingerprints", "SecretValue"]

#: What a redacted value is replaced with.
REDACTED = "[redacted]"


class Fingerprints:
    """Short-lived keyed fingerprints of the values this process has handled."""

    def __init__(
        self,
        *,
        ttl_seconds: float = 3600.0,
        max_entries: int = 200_000,
        min_length: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._min_length = min_length
        self._clock = clock
        self._key: bytes | None = None
        self._seen: OrderedDict[bytes, tuple[float, int]] = OrderedDict()
        self._lengths: dict[int, int] = {}
        self._lock = threading.Lock()

    def _digest(self, text: str) -> bytes:
        if self._key is None:
            self._key = secrets.token_bytes(32)
        return hmac.new(self._key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def remember(self, value: str) -> None:
        """Keep a fingerprint of `value` (too short values are not worth masking)."""
        if len(value) < self._min_length:
            return
        with self._lock:
            digest = self._digest(value)
            if digest in self._seen:
                self._seen.move_to_end(digest)
                self._seen[digest] = (self._clock() + self._ttl, len(value))
                return
            self._seen[digest] = (self._clock() + self._ttl, len(value))
            self._lengths[len(value)] = self._lengths.get(len(value), 0) + 1
            self._expire()

    def _expire(self) -> None:
        now = self._clock()
        while self._seen:
            digest, (expires, length) = next(iter(self._seen.items()))
            if expires > now and len(self._seen) <= self._max:
                break
            del self._seen[digest]
            self._lengths[length] -= 1
            if not self._lengths[length]:
                del self._lengths[length]

    def __contains__(self, text: object) -> bool:
        if not isinstance(text, str) or len(text) < self._min_length:
            return False
        with self._lock:
            if not self._seen or len(text) not in self._lengths:
                return False
            return self._digest(text) in self._seen

    def scrub(self, text: str) -> str:
        """`text` with every known value in it, whole or as a part, replaced by `REDACTED`."""
        with self._lock:
            self._expire()
            if not self._seen:
                return text
            lengths = sorted((n for n in self._lengths if n <= len(text)), reverse=True)
            for length in lengths:
                start = 0
                while start + length <= len(text):
                    if self._digest(text[start : start + length]) in self._seen:
                        text = text[:start] + REDACTED + text[start + length :]
                        start += len(REDACTED)
                    else:
                        start += 1
            return text

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
            self._lengths.clear()


#: The process-wide fingerprints every `SecretValue` reports to.
FINGERPRINTS = Fingerprints()


class SecretValue:
    """A secret string, hidden from every rendering."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a SecretValue holds a str")
        self._value = value
        FINGERPRINTS.remember(value)

    def reveal(self) -> str:
        """The value itself. Call it only where the value must leave the process."""
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretValue):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((SecretValue, self._value))

    def __repr__(self) -> str:
        return "SecretValue('**********')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a SecretValue cannot be pickled")
