"""Attacks through a git source's configuration: option injection, redirects, plain HTTP.

Each test runs the real ``syncd sync`` (or the real git) against real loopback servers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from syncd.config.loading import load_config
from syncd.connectors.markdown.git import GitError, Remote, run
from syncd.errors import ConfigError
from syncd.sandbox import SandboxServer, SandboxSettings

TOKEN = "intercom-token"
GIT_TOKEN = "git-token-5e4d3c2b1a"
SYNCD = (sys.executable, "-m", "syncd", "--log-format", "json")


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as server:
        yield server


def write_config(
    tmp_path: Path, sandbox_url: str, git_options: dict[str, object], **source: object
) -> Path:
    config = tmp_path / "syncd.yaml"
    body = {
        "intercom": {"token": TOKEN, "base_url": sandbox_url},
        "state": {"url": f"sqlite:///{tmp_path / 'state.db'}", "cache_dir": str(tmp_path / "c")},
        "sources": [
            {
                "name": "docs",
                "connector": "markdown",
                "url": "https://docs.example.com",
                "options": {"git": git_options},
                **source,
            }
        ],
    }
    config.write_text(json.dumps(body), encoding="utf-8")
    return config


def sync(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SYNCD, "--config", str(config), "sync", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TEST_GIT_TOKEN": GIT_TOKEN},
    )


@pytest.mark.parametrize(
    "url",
    [
        "--upload-pack=touch {pwned};git-upload-pack",
        "-u touch {pwned};git-upload-pack",
        "ext::sh -c touch% {pwned}",
        "ext::sh",
        "fd::7",
        "git://127.0.0.1:9/docs.git",
        "/absolute/path/not/a/url",
    ],
)
def test_a_url_git_would_run_or_read_as_an_option_is_a_config_error(
    tmp_path: Path, sandbox: SandboxServer, url: str
) -> None:
    """``--upload-pack=...`` as the URL ran a command: now exit 2, naming the key, nothing run."""
    pwned = tmp_path / "pwned"
    config = write_config(tmp_path, sandbox.url, {"url": url.format(pwned=pwned)})
    result = sync(config)
    assert result.returncode == 2, result.stderr
    assert "sources[docs].options.git.url" in result.stderr
    assert "Traceback" not in result.stderr
    assert not pwned.exists()
    assert not (tmp_path / "c").exists()  # git never started


def test_git_itself_refuses_transports_outside_the_allow_list(tmp_path: Path) -> None:
    """Even a URL that got past the check cannot use another transport: git refuses it."""
    for url in ("git://127.0.0.1:9/docs.git", f"ext::sh -c touch% {tmp_path / 'pwned'}"):
        remote = Remote(url=url)
        with pytest.raises(GitError, match="not allowed"):
            run(["ls-remote", "--", url, "HEAD"], env=remote.environment(), timeout=30)
    assert not (tmp_path / "pwned").exists()


def test_allowed_urls_load(tmp_path: Path) -> None:
    """HTTPS, SSH (both spellings), file:// and a token-less http:// URL are fine."""
    for url in (
        "https://git.example.com/docs.git",
        "ssh://git@git.example.com/docs.git",
        "git@github.com:example/docs.git",
        "file:///srv/git/docs.git",
        "http://git.example.com/docs.git",
    ):
        config = write_config(tmp_path, "https://api.intercom.io", {"url": url})
        assert load_config(config).sources[0].name == "docs"


class _Recorder(BaseHTTPRequestHandler):
    """Answers 401 to everything and remembers each Authorization header it was sent."""

    seen: list[str | None]

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization"))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="elsewhere"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _Redirector(BaseHTTPRequestHandler):
    """Answers every request with a 302 to the same path on ``target``."""

    target: str

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", f"{self.target}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def redirect_to_recorder() -> Iterator[tuple[str, list[str | None]]]:
    """A git URL on one loopback port that redirects to a recorder on another port."""
    seen: list[str | None] = []
    recorder = ThreadingHTTPServer(("127.0.0.1", 0), type("Recorder", (_Recorder,), {"seen": seen}))
    target = f"http://127.0.0.1:{recorder.server_address[1]}"
    redirector = ThreadingHTTPServer(
        ("127.0.0.1", 0), type("Redirector", (_Redirector,), {"target": target})
    )
    for server in (recorder, redirector):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{redirector.server_address[1]}/docs.git", seen
    finally:
        for server in (recorder, redirector):
            server.shutdown()
            server.server_close()


def test_the_token_is_never_sent_to_the_host_a_remote_redirects_to(
    tmp_path: Path, sandbox: SandboxServer, redirect_to_recorder: tuple[str, list[str | None]]
) -> None:
    """A 302 to another host:port that asks for a login gets no token: the source fails."""
    url, seen = redirect_to_recorder
    config = write_config(tmp_path, sandbox.url, {"url": url, "token": "${TEST_GIT_TOKEN}"})
    result = sync(config)
    assert result.returncode != 0
    report = json.loads(result.stdout)["sources"][0]
    assert "cannot fetch" in report["error"]
    assert seen, "git never reached the host it was redirected to"
    assert all(header is None for header in seen), seen
    assert GIT_TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("options", "key"),
    [
        (
            {"git": {"url": "http://git.example.com/docs.git", "token": "t0ken"}},
            "sources[docs].options.git.token",
        ),
        (
            {"git": {"url": "http://10.0.0.7:3000/docs.git", "token": "t0ken"}},
            "sources[docs].options.git.token",
        ),
    ],
)
def test_a_git_token_over_plain_http_to_another_host_is_a_config_error(
    tmp_path: Path, options: dict[str, object], key: str
) -> None:
    config = tmp_path / "syncd.yaml"
    source = {"name": "docs", "connector": "markdown", "url": "https://d.example.com"}
    config.write_text(json.dumps({"sources": [{**source, "options": options}]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="unencrypted over http://") as failure:
        load_config(config)
    assert key in str(failure.value)
    assert "t0ken" not in str(failure.value)

    source["allow_insecure_http"] = True  # type: ignore[assignment]
    config.write_text(json.dumps({"sources": [{**source, "options": options}]}), encoding="utf-8")
    assert load_config(config).sources[0].allow_insecure_http is True


@pytest.mark.parametrize(
    "login",
    [{"username": "bot", "password": "hunter2"}, {"token": "hunter2"}],
)
def test_a_wiki_password_over_plain_http_to_another_host_is_a_config_error(
    tmp_path: Path, login: dict[str, str]
) -> None:
    config = tmp_path / "syncd.yaml"
    source = {"name": "wiki", "connector": "mediawiki", "url": "https://wiki.example.com"}
    options = {"api_url": "http://wiki.example.com/w/api.php", **login}
    config.write_text(json.dumps({"sources": [{**source, "options": options}]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="unencrypted over http://") as failure:
        load_config(config)
    field = "password" if "password" in login else "token"
    assert f"sources[wiki].options.{field}" in str(failure.value)
    assert "hunter2" not in str(failure.value)

    for allowed in (
        {**options, "api_url": "https://wiki.example.com/w/api.php"},
        {**options, "api_url": "http://127.0.0.1:8080/w/api.php"},
        {**options, "api_url": "http://localhost/w/api.php"},
        {**options, "api_url": "http://[::1]:8080/w/api.php"},
    ):
        config.write_text(json.dumps({"sources": [{**source, "options": allowed}]}))
        assert load_config(config).sources[0].name == "wiki"
    source["allow_insecure_http"] = True  # type: ignore[assignment]
    config.write_text(json.dumps({"sources": [{**source, "options": options}]}), encoding="utf-8")
    assert load_config(config).sources[0].name == "wiki"
