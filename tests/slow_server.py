"""A loopback HTTP server that answers badly on purpose: it trickles, stalls or skews.

trickle
    Sends a 200 answer one byte every ``interval`` seconds, headers included: every read
    gets data long before any read timeout, yet the answer takes minutes.
stall
    Reads the request and never answers.
json
    Answers each request at once with the next of ``answers`` (status, headers, body), then
    repeats the last one: for rate-limit headers, skewed clocks and malformed bodies.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

Answer = tuple[int, dict[str, str], Any]


class SlowServer:
    """A thread per connection; ``url`` once started; a context manager."""

    def __init__(
        self,
        mode: str,
        *,
        interval: float = 0.5,
        answers: Sequence[Answer] = (),
    ) -> None:
        self.mode = mode
        self.interval = interval
        self.answers = list(answers)
        self.requests: list[str] = []  # request lines, in order
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> SlowServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._closing.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read_request(self, conn: socket.socket, buffer: bytes) -> tuple[str, bytes] | None:
        while b"\r\n\r\n" not in buffer:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            rest += chunk
        return lines[0], rest[length:]

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            try:
                while not self._closing.is_set():
                    request = self._read_request(conn, buffer)
                    if request is None:
                        return
                    line, buffer = request
                    with self._lock:
                        self.requests.append(line)
                        index = len(self.requests) - 1
                    if self.mode == "stall":
                        self._closing.wait()
                        return
                    if self.mode == "trickle":
                        body = b'{"type": "list", "data": []}' + b" " * 100_000
                        answer = (
                            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            + f"Content-Length: {len(body)}\r\n\r\n".encode()
                            + body
                        )
                        for byte in answer:
                            if self._closing.wait(self.interval):
                                return
                            conn.sendall(bytes([byte]))
                        continue
                    conn.sendall(self._answer(index))
            except OSError:
                return

    def _answer(self, index: int) -> bytes:
        status, headers, body = self.answers[min(index, len(self.answers) - 1)]
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(payload)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head.append("Content-Type: application/json")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


def http_date(offset: float = 0.0) -> str:
    """An HTTP Date header ``offset`` seconds away from now."""
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + offset))
