"""The audit trail: one JSON object per line, through structlog.

Every event carries ``timestamp`` (RFC 3339, UTC), ``level``, ``event`` and
``instance``. Before rendering, `Redactor` masks any field whose name means
a value and any string (or part of an error message) that is a value this
process generated or read, so that the guarantee does not depend on every
caller being careful. `AuditWriter` writes each line whole and flushes it
before the call returns, and reopens the audit file when logrotate moves it.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog
from structlog.typing import FilteringBoundLogger

from rotator.config import AuditConfig
from rotator.values import FINGERPRINTS, REDACTED, Fingerprints

__all__ = [
    "SENSITIVE_KEYS",
    "AuditWriter",
    "Redactor",
    "default_instance",
    "make_audit_logger",
]

#: Field names whose values are masked whatever they hold.
SENSITIVE_KEYS = frozenset(
    {
        "value",
        "current",
        "previous",
        "keyring",
        "secret_value",
        "secret_id",
        "token",
        "client_token",
        "password",
        "passphrase",
        "private_key",
        "jwt",
        "data",
        "plaintext",
    }
)

#: Fields rotator sets itself; they are never scanned (a 4-digit code must not mask a year).
_STRUCTURAL_KEYS = frozenset({"timestamp", "level", "event", "instance"})

#: Free-text fields that are searched for values inside them, not only compared whole.
_FREE_TEXT_KEYS = frozenset({"error", "reason", "message", "exception", "detail", "warning"})


class Redactor:
    """A structlog processor that removes secret values from an event."""

    def __init__(self, fingerprints: Fingerprints = FINGERPRINTS) -> None:
        self._fingerprints = fingerprints

    def _clean(self, key: str, value: Any) -> Any:
        if key.lower() in SENSITIVE_KEYS:
            cleaned: Any = REDACTED
        elif isinstance(value, str):
            if key in _FREE_TEXT_KEYS:
                cleaned = self._fingerprints.scrub(value)
            else:
                cleaned = REDACTED if value in self._fingerprints else value
        elif isinstance(value, Mapping):
            cleaned = {str(k): self._clean(str(k), v) for k, v in value.items()}
        elif isinstance(value, list | tuple | set | frozenset):
            cleaned = [self._clean(key, item) for item in value]
        elif isinstance(value, int | float | bool) or value is None:
            cleaned = value
        else:
            # Anything else is rendered by its repr; scrub that text too.
            cleaned = self._fingerprints.scrub(repr(value))
        return cleaned

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            if key in _STRUCTURAL_KEYS:
                continue
            event_dict[key] = self._clean(key, event_dict[key])
        return event_dict


def _order_fields(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Put the four fields every event has first, for people reading the file."""
    head = {
        key: event_dict.pop(key)
        for key in ("timestamp", "level", "event", "instance")
        if key in event_dict
    }
    return {**head, **event_dict}


class _AppendFile:
    """An append-only file that follows logrotate: reopened when its inode changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle, self._inode = self._open()

    def _open(self) -> tuple[TextIO, int]:
        handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept open for the daemon's life)
        return handle, os.fstat(handle.fileno()).st_ino

    def reopen(self) -> None:
        self._handle.close()
        self._handle, self._inode = self._open()

    def _moved(self) -> bool:
        try:
            return os.stat(self.path).st_ino != self._inode
        except FileNotFoundError:
            return True

    def write(self, line: str) -> None:
        if self._handle.closed or self._moved():
            self.reopen()
        self._handle.write(line)
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class AuditWriter:
    """Writes rendered lines to stdout (or another stream) and/or an audit file.

    Each line is written whole under a lock and flushed before the call
    returns. The file is opened for appending and reopened when its inode
    changes (logrotate's rename-and-create) or when `reopen` is called.
    """

    def __init__(self, *, stream: TextIO | None, path: Path | None) -> None:
        self._stream = stream
        self._file = _AppendFile(path) if path is not None else None
        self._lock = threading.Lock()

    def reopen(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.reopen()

    def msg(self, message: str) -> None:
        line = message + "\n"
        with self._lock:
            if self._stream is not None:
                self._stream.write(line)
                self._stream.flush()
            if self._file is not None:
                self._file.write(line)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def default_instance() -> str:
    """``ROTATOR_INSTANCE``, else ``hostname:pid``: which replica wrote an event."""
    return os.environ.get("ROTATOR_INSTANCE") or f"{socket.gethostname()}:{os.getpid()}"


def make_audit_logger(
    config: AuditConfig,
    *,
    instance: str | None = None,
    stream: TextIO | None = None,
    fingerprints: Fingerprints = FINGERPRINTS,
) -> tuple[FilteringBoundLogger, AuditWriter]:
    """A bound logger that writes audit events as configured, and its writer.

    `stream` is where ``audit.stdout`` goes (stdout for the daemon; the CLI's
    one-shot commands pass stderr to keep stdout for their own output). With
    ``format: auto``, events render as readable lines when that stream is a
    terminal and no file is set; JSON is the contract everywhere else.
    """
    target = (stream or sys.stdout) if config.stdout else None
    writer = AuditWriter(stream=target, path=config.file)
    console = config.format == "console" or (
        config.format == "auto" and config.file is None and target is not None and target.isatty()
    )
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False, sort_keys=False)
        if console
        else structlog.processors.JSONRenderer()
    )
    logger: FilteringBoundLogger = structlog.wrap_logger(
        writer,
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
            structlog.processors.format_exc_info,
            Redactor(fingerprints),
            _order_fields,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        context_class=dict,
        cache_logger_on_first_use=True,
    )
    return logger.bind(instance=instance or default_instance()), writer
