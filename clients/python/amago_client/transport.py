"""One persistent HTTP/1.1 connection (keep-alive) with a reconnect when the server dropped it."""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.parse
from typing import Dict, Optional, Tuple

from .errors import TransportError

__all__ = ["Connection"]

# Errors that mean the server closed a kept-alive connection before reading our request: sending
# the request again on a fresh connection is safe (nothing of it was processed).
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class Connection:
    """A keep-alive connection to one server; thread-safe (requests are serialised by a lock).

    A request on a connection that was idle and found closed by the server is sent once more on a
    new connection. A request on a fresh connection is never repeated.
    """

    def __init__(self, url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url if "://" in url else "http://" + url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL scheme {parts.scheme!r}; expected http or https")
        if not parts.hostname:
            raise ValueError(f"URL {url!r} has no host")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        self.timeout = timeout
        self._conn: Optional[http.client.HTTPConnection] = None
        self._lock = threading.Lock()

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.timeout)
        conn.connect()
        if conn.sock is not None:
            # Small request/answer pairs: don't let Nagle's algorithm hold them back.
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def request(
        self, method: str, path: str, body: Optional[bytes], headers: Dict[str, str], timeout: Optional[float] = None
    ) -> Tuple[int, Dict[str, str], bytes]:
        """Sends one request; the answer's status, headers (lower-case names) and body."""
        with self._lock:
            reused = self._conn is not None
            try:
                return self._send(method, path, body, headers, timeout)
            except _STALE as error:
                self._close()
                if not reused:
                    raise TransportError(0, "connection_failed", f"{method} {path}: {error}") from error
            except (OSError, http.client.HTTPException) as error:
                self._close()
                raise TransportError(0, "connection_failed", f"{method} {path}: {error}") from error
            try:
                return self._send(method, path, body, headers, timeout)
            except (OSError, http.client.HTTPException) as error:
                self._close()
                raise TransportError(0, "connection_failed", f"{method} {path}: {error}") from error

    def _send(
        self, method: str, path: str, body: Optional[bytes], headers: Dict[str, str], timeout: Optional[float]
    ) -> Tuple[int, Dict[str, str], bytes]:
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        if conn.sock is not None:
            conn.sock.settimeout(self.timeout if timeout is None else timeout)
        conn.request(method, self.base_path + path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
        if response.will_close:
            self._close()
        return response.status, answer_headers, data

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        """Closes the connection (the next request opens a new one)."""
        with self._lock:
            self._close()

