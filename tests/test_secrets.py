"""The token never leaves: a planted token is looked for in everything syncd prints or stores.

Real processes throughout: `syncd` against the sandbox over HTTP, a real pseudo-terminal for
the crash, the daemon's /metrics, SQLite and PostgreSQL dumped row by row.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from syncd import redact
from syncd.errors import ExitCode
from syncd.sandbox import SandboxServer, SandboxSettings
from tests.terminal import run_on_a_terminal

TOKEN = "canary-7Hq2Zx9Lp4WmT3"
WIKI_PASSWORD = "wiki-canary-Rk8Vd2Nc"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as server:
        yield server


def write_config(tmp_path: Path, sandbox: SandboxServer, state_url: str, **extra: object) -> Path:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    for i in range(3):
        (site / f"page-{i}.md").write_text(f"# Page {i}\n\nText {i}\n", encoding="utf-8")
    config = {
        "intercom": {"token": "${INTERCOM_ACCESS_TOKEN}", "base_url": sandbox.url},
        "state": {"url": state_url},
        "sources": [
            {
                "name": "docs",
                "connector": "markdown",
                "url": "https://docs.example.com",
                "options": {"path": str(site)},
            }
        ],
        **extra,
    }
    path = tmp_path / "syncd.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def environment(token: str | None = TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCD_", "INTERCOM_"))}
    if token is not None:
        env["INTERCOM_ACCESS_TOKEN"] = token
    return env


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env if env is not None else environment(),
    )


def on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``argv`` with all three streams on a pseudo-terminal; its exit code and output."""
    return run_on_a_terminal(argv, env | {"TERM": "xterm-256color", "COLUMNS": "200"})


# Replaces httpx's transport (a process boundary) so that the publisher's first request
# raises an error we did not plan for, its message quoting the Authorization header.
CRASH_LAUNCHER = """
import sys
import httpx

def crash(self, request):
    raise RuntimeError("forced crash sending " + request.headers["authorization"])

httpx.HTTPTransport.handle_request = crash
from syncd.cli import main
main(sys.argv[1:])
"""


def dump_state(state_url: str) -> str:
    """Every row of every table of the state database, as text."""
    engine = sa.create_engine(state_url)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        lines = []
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                lines += [
                    f"{table.name}: {tuple(row)}" for row in connection.execute(table.select())
                ]
        return "\n".join(lines)
    finally:
        engine.dispose()


def assert_no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert TOKEN[4:-4] not in text  # nor a piece of it, cut or wrapped


def test_token_never_appears_in_logs_crash_status_or_database(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    """DEBUG logs (JSON and console), a crash in the publisher on a terminal, status and
    every row of the state database: the token is never there."""
    config = write_config(tmp_path, sandbox, state_url)
    base = ["--config", str(config), "--log-level", "debug"]
    shown = []
    as_json = run(*base, "--log-format", "json", "sync")
    assert as_json.returncode == 0, as_json.stderr
    assert '"event": "document.created"' in as_json.stderr  # DEBUG lines were there to search
    (tmp_path / "site" / "page-0.md").write_text("# Page 0\n\nEdited\n", encoding="utf-8")
    as_console = run(*base, "--log-format", "console", "sync")
    assert as_console.returncode == 0, as_console.stderr
    assert "document.updated" in as_console.stderr
    shown += [as_json.stdout, as_json.stderr, as_console.stdout, as_console.stderr]

    launcher = tmp_path / "crash.py"
    launcher.write_text(CRASH_LAUNCHER, encoding="utf-8")
    (tmp_path / "site" / "page-1.md").write_text("# Page 1\n\nEdited\n", encoding="utf-8")
    code, terminal = on_a_terminal(
        [sys.executable, str(launcher), *base, "sync"], environment(TOKEN)
    )
    assert code == ExitCode.UNEXPECTED, terminal
    assert "RuntimeError" in terminal and "forced crash sending Bearer" in terminal
    assert "Traceback" in terminal or "Traceback (most recent call last)" in terminal
    assert redact.MASK in terminal  # the message quoted the header: masked, not dropped
    shown.append(terminal)

    status = run("--config", str(config), "status")
    status_json = run("--config", str(config), "status", "--json")
    assert status.returncode == 0 and status_json.returncode == 0, status.stderr
    assert "forced crash sending Bearer" in status.stdout
    shown += [status.stdout, status.stderr, status_json.stdout, status_json.stderr]
    rows = dump_state(state_url)
    assert "forced crash sending Bearer" in rows
    shown.append(rows)
    assert_no_token(*shown)


@pytest.mark.parametrize(
    ("where", "value", "named"),
    [
        ("file", TOKEN + "\r\nsecond-line", "token.txt"),
        ("file", TOKEN + "\x1b[0m", "token.txt"),
        ("env", TOKEN + "é", "intercom.token"),
        ("env", f"  {TOKEN}  ", "intercom.token"),
        ("env", TOKEN + "\n", "intercom.token"),
    ],
    ids=["file-crlf", "file-control", "env-non-ascii", "env-spaces", "env-newline"],
)
def test_malformed_token_is_a_configuration_error_that_never_echoes_it(
    tmp_path: Path, sandbox: SandboxServer, where: str, value: str, named: str
) -> None:
    """A token with CR/LF, control characters, non-ASCII or surrounding spaces: exit 2,
    the key or file named, the value never shown nor stored."""
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    config = write_config(tmp_path, sandbox, state_url)
    env = environment(None)
    if where == "file":
        raw = json.loads(config.read_text(encoding="utf-8"))
        raw["intercom"] = {"token_file": "token.txt", "base_url": sandbox.url}
        config.write_text(json.dumps(raw), encoding="utf-8")
        (tmp_path / "token.txt").write_bytes(value.encode("utf-8"))
    else:
        env["INTERCOM_ACCESS_TOKEN"] = value
    before = sandbox.store.requests()
    result = run("--config", str(config), "--log-format", "json", "sync", env=env)
    assert result.returncode == ExitCode.CONFIG, result.stderr
    assert named in result.stderr and "not shown" in result.stderr
    assert sandbox.store.requests() == before  # nothing was sent with it
    status = run("--config", str(config), "status", env=env)
    assert_no_token(
        result.stdout, result.stderr, status.stdout, status.stderr, dump_state(state_url)
    )


def test_token_file_may_end_with_one_line_break(tmp_path: Path, sandbox: SandboxServer) -> None:
    """`echo token > file` writes a final newline: that file is a good token file."""
    config = write_config(tmp_path, sandbox, f"sqlite:///{tmp_path / 'state.db'}")
    raw = json.loads(config.read_text(encoding="utf-8"))
    raw["intercom"] = {"token_file": "token.txt", "base_url": sandbox.url}
    config.write_text(json.dumps(raw), encoding="utf-8")
    (tmp_path / "token.txt").write_text(TOKEN + "\n", encoding="utf-8")
    result = run("--config", str(config), "sync", env=environment(None))
    assert result.returncode == 0, result.stderr
    assert_no_token(result.stdout, result.stderr)


def test_malformed_connector_secret_is_named_not_echoed(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """A wiki password with a line break is exit 2 naming its key; the value is not shown."""
    config = write_config(tmp_path, sandbox, f"sqlite:///{tmp_path / 'state.db'}")
    raw = json.loads(config.read_text(encoding="utf-8"))
    raw["sources"].append(
        {
            "name": "wiki",
            "connector": "mediawiki",
            "url": "https://wiki.example.com",
            "options": {
                "api_url": "https://wiki.example.com/w/api.php",
                "username": "Bot@syncd",
                "password": "${WIKI_PASSWORD}",
            },
        }
    )
    config.write_text(json.dumps(raw), encoding="utf-8")
    env = environment() | {"WIKI_PASSWORD": WIKI_PASSWORD + "\r\n"}
    result = run("--config", str(config), "status", env=env)
    assert result.returncode == ExitCode.CONFIG, result.stderr
    assert "sources[wiki].options.password" in result.stderr
    assert WIKI_PASSWORD not in result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_daemon_metrics_and_logs_never_hold_the_token(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    """`syncd run` at DEBUG: its /metrics and its log lines never hold the token."""
    port = free_port()
    config = write_config(tmp_path, sandbox, state_url, server={"host": "127.0.0.1", "port": port})
    process = subprocess.Popen(
        [sys.executable, "-m", "syncd", "--config", str(config), "--log-level", "debug", "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    metrics = ""
    try:
        deadline = time.monotonic() + 90
        while 'syncd_runs_total{result="ok",source="docs"}' not in metrics:
            assert time.monotonic() < deadline, "the daemon's first run did not finish"
            assert process.poll() is None, process.communicate()
            time.sleep(0.2)
            try:
                metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            except httpx.HTTPError:
                continue
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert "syncd_pages_held" in metrics
    assert_no_token(metrics, out, err, dump_state(state_url))


def test_sandbox_token_is_checked_and_never_echoed(tmp_path: Path) -> None:
    """The sandbox's token, from $SYNCD_SANDBOX_TOKEN (not in the process arguments), is not
    shown when it starts; a malformed --token is exit 2 without echoing it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "syncd", "sandbox", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(None) | {"SYNCD_SANDBOX_TOKEN": TOKEN},
    )
    try:
        assert process.stderr is not None
        announced = ""
        while "listening" not in announced:
            line = process.stderr.readline()
            assert line, "the sandbox ended before it announced itself"
            announced += line
        assert f"127.0.0.1:{port}" in announced
        pages = httpx.get(
            f"http://127.0.0.1:{port}/ai/external_pages",
            headers={"Authorization": f"Bearer {TOKEN}", "Intercom-Version": "2.14"},
            timeout=10,
        )
        assert pages.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert_no_token(announced, out, err)
    bad = run("sandbox", "--port", str(port), "--token", TOKEN + "\n", env=environment(None))
    assert bad.returncode == ExitCode.CONFIG
    assert "--token" in bad.stderr
    assert_no_token(bad.stdout, bad.stderr)
