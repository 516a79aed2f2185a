"""The HTTP endpoints: ``/healthz``, ``/readyz`` and ``/metrics``.

A `ThreadingHTTPServer` on its own thread; each endpoint is a callable the
daemon hands in, so this module knows nothing of Vault or the scheduler.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from rotator.errors import ConfigError

__all__ = ["Check", "StatusServer"]

#: A check's answer: healthy or not, and what to say about it (no values).
Check = tuple[bool, dict[str, Any]]


class StatusServer:
    def __init__(
        self,
        address: tuple[str, int],
        *,
        health: Callable[[], Check],
        ready: Callable[[], Check],
        metrics: Callable[[], bytes],
    ) -> None:
        routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
            "/healthz": lambda: _check(health),
            "/readyz": lambda: _check(ready),
            "/metrics": lambda: (200, CONTENT_TYPE_LATEST, metrics()),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = routes.get(self.path.split("?", 1)[0])
                if route is None:
                    status, content_type, body = 404, "text/plain", b"not found\n"
                else:
                    status, content_type, body = route()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # access logs would drown the audit trail

        try:
            self._server = ThreadingHTTPServer(address, Handler)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {address[0]}:{address[1]}: {exc.strerror}", key="server.listen"
            ) from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="rotator-http", daemon=True
        )

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _check(check: Callable[[], Check]) -> tuple[int, str, bytes]:
    ok, detail = check()
    body = json.dumps({"status": "ok" if ok else "unavailable", **detail}).encode() + b"\n"
    return (200 if ok else 503), "application/json", body
