"""A TCP proxy in front of OpenBao that a test can slow down or cut off."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time


class FaultProxy:
    """Forwards 127.0.0.1:port to a target; `delay` slows each chunk sent to
    the target, `down` refuses new connections and drops open ones."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.address = f"http://127.0.0.1:{self.port}"
        self.delay = 0.0
        #: Connections accepted so far (a test can prove nothing reached Vault).
        self.connections = 0
        self._down = threading.Event()
        self._closed = threading.Event()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def down(self) -> bool:
        return self._down.is_set()

    @down.setter
    def down(self, value: bool) -> None:
        if value:
            self._down.set()
            with self._lock:
                for conn in list(self._connections):
                    with contextlib.suppress(OSError):
                        conn.shutdown(socket.SHUT_RDWR)
                        conn.close()
                self._connections.clear()
        else:
            self._down.clear()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            if self._down.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        pair = {client: upstream, upstream: client}
        try:
            while not self._closed.is_set():
                readable, _, _ = select.select(list(pair), [], [], 0.5)
                for sock in readable:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    if sock is client and self.delay:
                        time.sleep(self.delay)
                    pair[sock].sendall(chunk)
        except (OSError, ValueError):
            return
        finally:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.close()
            with self._lock:
                self._connections.difference_update(pair)

    def close(self) -> None:
        self._closed.set()
        self.down = True
        self._listener.close()
