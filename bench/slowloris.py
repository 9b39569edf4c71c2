"""Slow connections against `syncd run`: how long /healthz takes while strangers hold sockets.

Starts the sandbox and `syncd run` (one small Markdown source, the hook endpoint on), with
the daemon's descriptor limit set to ``--nofile``, then for each count in ``--connections``:
opens that many connections that send a partial request head to ``/hooks/docs`` and nothing
more (slowloris), and times ``--probes`` ``GET /healthz`` calls one after another (each a new
connection, as a liveness probe makes it). Reported per count: p50 and max of the probes,
failed probes (no answer within 5 s), and how many of the slow connections the daemon had
closed ``--hold`` seconds later (the head deadline is 10 s).

Usage: python -m bench.slowloris [--connections 0 300 1000] [--nofile 1024] [--probes 20]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import PYTHON, ROOT, Sandbox, emit, markdown_source, write_markdown_tree

SECRET = "bench-hook-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _probe(url: str) -> float | None:
    started = time.perf_counter()
    try:
        ok = httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return None
    return time.perf_counter() - started if ok else None


def _measure(port: int, count: int, probes: int, hold: float) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}"
    held: list[socket.socket] = []
    refused = 0
    for _ in range(count):
        try:
            conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            conn.sendall(b"POST /hooks/docs HTTP/1.1\r\nHost: x\r\n")
            held.append(conn)
        except OSError:
            refused += 1
    times = [_probe(url) for _ in range(probes)]
    answered = [t for t in times if t is not None]
    time.sleep(hold)
    closed = 0
    for conn in held:
        conn.setblocking(False)
        try:
            closed += conn.recv(1) == b""
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        conn.close()
    return {
        "connections": count,
        "connect_failures": refused,
        "healthz_p50_s": round(statistics.median(answered), 4) if answered else None,
        "healthz_max_s": round(max(answered), 4) if answered else None,
        "healthz_failed": len(times) - len(answered),
        f"closed_by_daemon_after_{hold:g}s": closed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, nargs="+", default=[0, 300, 1000])
    parser.add_argument("--nofile", type=int, default=1024)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--hold", type=float, default=12.0)
    args = parser.parse_args()
    nofile = args.nofile

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    with tempfile.TemporaryDirectory() as tmp, Sandbox(rate_limit=0) as sandbox:
        folder = Path(tmp)
        write_markdown_tree(folder / "docs", 5)
        port = _free_port()
        source = {**markdown_source(folder / "docs"), "schedule": {"interval": "1h"}}
        config = {
            "intercom": {"token": "sandbox", "base_url": sandbox.url},
            "state": {"url": f"sqlite:///{folder / 'state.db'}"},
            "server": {"host": "127.0.0.1", "port": port, "hook_secret": SECRET},
            "sources": [source],
        }
        (folder / "syncd.yaml").write_text(json.dumps(config), encoding="utf-8")
        daemon = subprocess.Popen(
            [PYTHON, "-m", "syncd", "--config", str(folder / "syncd.yaml"), "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            preexec_fn=limit,  # noqa: PLW1509 - sets an rlimit, nothing else
        )
        try:
            deadline = time.monotonic() + 60
            while _probe(f"http://127.0.0.1:{port}") is None:
                if time.monotonic() > deadline or daemon.poll() is not None:
                    raise SystemExit("syncd run did not start")
                time.sleep(0.2)
            results = [_measure(port, n, args.probes, args.hold) for n in args.connections]
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
    emit("slowloris", {"nofile": nofile, "probes": args.probes, "results": results})


if __name__ == "__main__":
    main()
