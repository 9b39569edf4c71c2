"""Test-only smart-HTTP git server: ``git http-backend`` as CGI behind HTTP auth, on 127.0.0.1.

Run as ``TEST_GIT_TOKEN=tok python githttp.py ROOT USER``; it prints its port, then serves the
bare repositories under ROOT. It answers 401 without ``Basic USER:TOKEN`` or ``Bearer TOKEN``
(the token comes through the environment, never argv) and never logs headers.
``TEST_GIT_DELAY`` (seconds) delays every answer, so a test can look at a fetch in flight;
``TEST_GIT_LOG`` names a file that gets a ``METHOD path status`` line per request (no headers).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT, USER, TOKEN = sys.argv[1], sys.argv[2], os.environ["TEST_GIT_TOKEN"]
GOOD = {"Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode(), f"Bearer {TOKEN}"}
DELAY = float(os.environ.get("TEST_GIT_DELAY", "0"))
LOG = os.environ.get("TEST_GIT_LOG")


class Handler(BaseHTTPRequestHandler):
    """Hands each authenticated request to git http-backend."""

    def handle_git(self) -> None:
        time.sleep(DELAY)
        if self.headers.get("Authorization") not in GOOD:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": ROOT,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": USER,
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        out = subprocess.run(
            ["git", "http-backend"],
            input=body,
            env=env,
            capture_output=True,
            check=False,
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        headers = [line.split(":", 1) for line in head.decode().split("\r\n") if ":" in line]
        status = next((int(v.split()[0]) for k, v in headers if k.lower() == "status"), 200)
        self.send_response(status)
        for key, value in headers:
            if key.lower() != "status":
                self.send_header(key, value.strip())
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = handle_git

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Append ``METHOD path status`` to the TEST_GIT_LOG file (send_response calls this)."""
        if LOG and code != "-":
            with open(LOG, "a", encoding="utf-8") as log:  # noqa: PTH123
                log.write(f"{self.command} {self.path} {code}\n")

    def log_message(self, format: str, *args: object) -> None:
        """Log nothing: request headers carry credentials."""


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
