"""Notifications after a successful rotation: webhooks and commands.

Hooks run on a pool of their own, so a slow or failing hook never delays a
rotation, and a failed hook never undoes one. Each outcome is an audit
event: ``hook.succeeded`` or ``hook.failed``. A webhook body is the
rotation's event without the value, signed (HMAC-SHA256 over
``timestamp.body``) in ``X-Rotator-Signature`` with ``X-Rotator-Timestamp``.
A command runs without a shell, with a small environment naming the secret
and its new version; it gets the value on standard input only when its
``pass_value`` says so, and its output is discarded, never logged.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import requests
from structlog.typing import FilteringBoundLogger

from rotator.client import sign_webhook
from rotator.clock import format_time
from rotator.config import CommandHook, SecretConfig, WebhookHook
from rotator.rotation import RotationResult
from rotator.values import SecretValue

__all__ = ["HookRunner", "rotation_event"]

#: Environment variables a command hook inherits from rotator (nothing else, no token).
_INHERITED = ("PATH", "LANG", "LC_ALL", "TZ", "HOME")


def rotation_event(secret: SecretConfig, result: RotationResult) -> dict[str, Any]:
    """The JSON body of a webhook: what happened, never the value."""
    return {
        "event": f"{result.operation}.succeeded",
        "secret": secret.name,
        "engine": secret.engine,
        "mount": secret.mount,
        "path": secret.path,
        "generator": secret.kind,
        "trigger": str(result.trigger),
        "rotation_id": result.rotation_id,
        "version": result.version,
        "previous_version": result.previous_version,
        "kid": result.kid,
        "rotated_at": format_time(result.rotated_at) if result.rotated_at else None,
        "next_rotation_at": (
            format_time(result.next_rotation_at) if result.next_rotation_at else None
        ),
    }


def _safe_url(url: str) -> str:
    """The URL without credentials or query, for the audit log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class HookRunner:
    """Runs each secret's hooks after its successful rotations, off the rotation's thread."""

    def __init__(self, audit: FilteringBoundLogger, *, workers: int = 4) -> None:
        self._audit = audit
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rotator-hook")

    def after_rotation(
        self, secret: SecretConfig, result: RotationResult, value: SecretValue | None
    ) -> None:
        for index, hook in enumerate(secret.hooks):
            self._pool.submit(self._run, secret, result, value, index, hook)

    def close(self, *, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)

    def _run(
        self,
        secret: SecretConfig,
        result: RotationResult,
        value: SecretValue | None,
        index: int,
        hook: WebhookHook | CommandHook,
    ) -> None:
        started = time.monotonic()
        target = _safe_url(hook.url) if isinstance(hook, WebhookHook) else hook.argv[0]
        log = self._audit.bind(
            secret=secret.name,
            rotation_id=result.rotation_id,
            version=result.version,
            hook=index,
            kind=hook.kind,
            target=target,
        )
        try:
            if isinstance(hook, WebhookHook):
                attempts = self._webhook(secret, result, hook)
            else:
                attempts = 1
                self._command(secret, result, value, hook)
        except HookFailed as exc:
            log.error(
                "hook.failed",
                error=exc.reason,
                attempts=exc.attempts,
                duration_ms=round((time.monotonic() - started) * 1000),
            )
            return
        except Exception as exc:  # a hook must never take the daemon down
            log.error(
                "hook.failed",
                error=f"{type(exc).__name__}: {exc}",
                duration_ms=round((time.monotonic() - started) * 1000),
            )
            return
        log.info(
            "hook.succeeded",
            attempts=attempts,
            duration_ms=round((time.monotonic() - started) * 1000),
        )

    def _webhook(self, secret: SecretConfig, result: RotationResult, hook: WebhookHook) -> int:
        body = json.dumps(rotation_event(secret, result), separators=(",", ":")).encode()
        last = "no attempt"
        for attempt in range(1, hook.attempts + 1):
            timestamp = int(time.time())
            headers = {
                **hook.headers,
                "Content-Type": "application/json",
                "User-Agent": "rotator",
                "X-Rotator-Timestamp": str(timestamp),
            }
            if hook.signing_key is not None:
                headers["X-Rotator-Signature"] = sign_webhook(
                    body, timestamp, hook.signing_key.get_secret_value()
                )
            try:
                response = requests.post(
                    hook.url, data=body, headers=headers, timeout=hook.timeout.total_seconds()
                )
            except requests.Timeout:
                last = f"timed out after {hook.timeout.total_seconds():g}s"
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}"
            else:
                if 200 <= response.status_code < 300:
                    return attempt
                last = f"HTTP {response.status_code}"
            if attempt < hook.attempts:
                time.sleep(min(2.0 ** (attempt - 1), 30.0))
        raise HookFailed(last, hook.attempts)

    def _command(
        self,
        secret: SecretConfig,
        result: RotationResult,
        value: SecretValue | None,
        hook: CommandHook,
    ) -> None:
        env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
        env.update(hook.env)
        env.update(
            {
                "ROTATOR_SECRET": secret.name,
                "ROTATOR_ENGINE": secret.engine,
                "ROTATOR_MOUNT": secret.mount,
                "ROTATOR_PATH": secret.path,
                "ROTATOR_VERSION": str(result.version),
                "ROTATOR_PREVIOUS_VERSION": str(result.previous_version),
                "ROTATOR_KID": result.kid or "",
                "ROTATOR_ROTATION_ID": result.rotation_id,
            }
        )
        stdin = value.reveal().encode() if hook.pass_value and value is not None else None
        try:
            completed = subprocess.run(  # noqa: S603 (argv from the operator's config, no shell)
                list(hook.argv),
                input=stdin,
                stdin=None if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                timeout=hook.timeout.total_seconds(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise HookFailed(f"timed out after {hook.timeout.total_seconds():g}s", 1) from None
        except OSError as exc:
            raise HookFailed(f"cannot run {hook.argv[0]}: {exc.strerror}", 1) from None
        if completed.returncode != 0:
            raise HookFailed(f"exit status {completed.returncode}", 1)


class HookFailed(Exception):
    """Internal: why a hook failed, for the hook.failed event."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts
