"""The status page of a real `syncd run`, rendered by headless Chromium.

Two sources: a Markdown folder syncing into the Intercom stand-in, one of whose pages is too
large and titled with a ``<script>`` tag (a failing document), and a wiki nobody answers
(a failing source).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.orm import sessionmaker

from syncd.config.loading import load_config
from syncd.daemon.server import HttpServer
from syncd.daemon.statuspage import StatusPage
from syncd.sandbox import SandboxServer, SandboxSettings
from syncd.status import collect
from tests.conftest import missing
from tests.daemon.conftest import wait_until

SECRET = "status-hook-secret-0123456789"
HOSTILE = "<script>alert(1)</script> & friends"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "status-page.png"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(root: Path, sandbox_url: str, port: int) -> Path:
    docs = root / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Welcome\n\nHow we work.\n", encoding="utf-8")
    (docs / "refunds.md").write_text("# Refunds\n\nWithin 30 days.\n", encoding="utf-8")
    big = "\n\n".join(f"Paragraph {n} " + "words " * 40 for n in range(80))
    # The title is user content: front matter keeps it as written, tags and all.
    (docs / "huge.md").write_text(
        f"---\ntitle: {json.dumps(HOSTILE)}\n---\n\n{big}\n", encoding="utf-8"
    )
    config = {
        "intercom": {"token": "t", "base_url": sandbox_url, "max_page_bytes": 10000},
        "state": {"url": f"sqlite:///{root / 'state.db'}"},
        "server": {"host": "127.0.0.1", "port": port, "hook_secret": SECRET},
        "sources": [
            {
                "name": "handbook",
                "connector": "markdown",
                "url": "https://handbook.example.com",
                "schedule": {"interval": "1h"},
                "options": {"path": str(docs)},
            },
            {
                "name": "team-wiki",
                "connector": "mediawiki",
                "url": "https://wiki.example.com",
                "schedule": {"interval": "1h"},
                "options": {"api_url": f"http://127.0.0.1:{_free_port()}/w/api.php"},
            },
        ],
    }
    path = root / "syncd.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


@pytest.fixture
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        missing("chromium not installed (apt-get install chromium)")
    return found


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A `syncd run` whose two sources have each finished a run; its URL and config."""
    with SandboxServer(SandboxSettings(token="t", rate_limit=0)) as sandbox:
        port = _free_port()
        config = _config(tmp_path, sandbox.url, port)
        log = tmp_path / "daemon.log"
        with log.open("w", encoding="utf-8") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "syncd", "--config", str(config), "run"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"

        def finished() -> bool:
            assert process.poll() is None, log.read_text(encoding="utf-8")
            try:
                answer = httpx.get(f"{url}/status.json", timeout=5)
            except httpx.HTTPError:
                return False
            runs = [s["last_run"] for s in answer.json()] if answer.status_code == 200 else []
            return len(runs) == 2 and all(r and r["finished_at"] for r in runs)

        try:
            wait_until(finished, timeout=120)
            yield url, config
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def _by_name(statuses: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {status["name"]: status for status in statuses}


def test_json_has_the_fields_of_syncd_status_json(daemon: tuple[str, Path]) -> None:
    url, config = daemon
    served = _by_name(httpx.get(f"{url}/status.json").json())
    asked = httpx.get(f"{url}/status", headers={"Accept": "application/json"})
    assert asked.headers["content-type"].startswith("application/json")
    cli = subprocess.run(
        [sys.executable, "-m", "syncd", "--config", str(config), "status", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    printed = _by_name(json.loads(cli.stdout))
    assert served.keys() == printed.keys() == {"handbook", "team-wiki"}
    for name, status in served.items():
        assert status.keys() == printed[name].keys(), name
        # The same facts; only the daemon knows its schedule.
        assert {**status, "next_run": None} == printed[name]
        assert status["next_run"] is not None

    handbook, wiki = served["handbook"], served["team-wiki"]
    assert handbook["connector"] == "markdown"
    assert handbook["last_run"]["status"] == "partial"
    assert handbook["pages_held"] == 2
    assert handbook["failing"][0]["title"] == HOSTILE
    assert "page too large" in handbook["failing"][0]["error"]
    assert handbook["left_out"]["final"] == 1
    assert wiki["connector"] == "mediawiki"
    assert wiki["last_run"]["status"] == "failed"
    assert wiki["last_failure"]["error"] == wiki["last_run"]["error"]
    assert "cannot read the source" in wiki["last_failure"]["error"]
    assert SECRET not in json.dumps(served)


def test_chromium_renders_the_page_with_titles_as_text(
    daemon: tuple[str, Path], chromium: str, tmp_path: Path
) -> None:
    url, _ = daemon
    raw = httpx.get(f"{url}/")
    assert raw.status_code == 200
    assert "<script" not in raw.text.lower()  # no script at all, least of all the title's
    assert SECRET not in raw.text
    browser = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    browser += [f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*browser, "--dump-dom", f"{url}/status"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    # The title is text in the DOM: serialised escaped, never parsed into an element.
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in dom
    assert "<script" not in dom.lower()
    for expected in ("handbook", "team-wiki", "partial", "failed", "page too large"):
        assert expected in dom
    assert "cannot read the source" in dom
    assert 'action="/status/run/handbook"' in dom

    shot = tmp_path / "status.png"
    subprocess.run(
        [*browser, "--window-size=412,1500", f"--screenshot={shot}", f"{url}/status"],
        capture_output=True,
        timeout=120,
        check=True,
    )
    image = Image.open(shot).convert("RGB")
    assert image.size == (412, 1500)
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 20) or []}
    # The healthy-but-partial card's amber edge and the failed source's red one are drawn.
    assert (0xB3, 0x86, 0x00) in colours
    assert (0xC9, 0x37, 0x2C) in colours
    if os.environ.get("SYNCD_WRITE_SCREENSHOT"):
        _save_small(image, SCREENSHOT)


def _save_small(image: Image.Image, path: Path) -> None:
    """The screenshot for the README: cropped to its content, in a 64-colour palette."""
    background = Image.new("RGB", image.size, image.getpixel((0, image.height - 1)))
    box = _content_box(image, background)
    small = image.crop(box).quantize(colors=64)
    buffer = io.BytesIO()
    small.save(buffer, format="PNG", optimize=True)
    path.write_bytes(buffer.getvalue())


def _content_box(image: Image.Image, background: Image.Image) -> tuple[int, int, int, int]:
    from PIL import ImageChops

    found = ImageChops.difference(image, background).getbbox()
    bottom = min(image.height, (found[3] if found else image.height) + 12)
    return (0, 0, image.width, bottom)


def test_run_now_needs_the_hook_secret(daemon: tuple[str, Path]) -> None:
    url, _ = daemon
    runs = httpx.get(f"{url}/status.json").json()[0]["last_run"]["started_at"]
    wrong = httpx.post(f"{url}/status/run/handbook", data={"token": "guess"})
    assert wrong.status_code == 401
    assert SECRET not in wrong.text
    unsigned = httpx.post(f"{url}/status/run/handbook")
    assert unsigned.status_code == 401
    stranger = httpx.post(f"{url}/status/run/nobody", data={"token": "guess"})
    assert stranger.status_code == 401  # no source names for strangers
    assert httpx.post(f"{url}/status/run/nobody", data={"token": SECRET}).status_code == 404

    accepted = httpx.post(f"{url}/status/run/handbook", data={"token": SECRET})
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/status?requested=handbook"
    # A signed request (as the hooks take it) works too.
    bearer = httpx.post(f"{url}/status/run/handbook", headers={"Authorization": f"Bearer {SECRET}"})
    assert bearer.status_code == 303

    def ran_again() -> bool:
        last = httpx.get(f"{url}/status.json").json()[0]["last_run"]
        return bool(last["started_at"] != runs and last["finished_at"])

    wait_until(ran_again, timeout=60)
    refused = httpx.get(f"{url}/metrics").text
    assert "syncd_hooks_refused_total 3.0" in refused


def test_a_state_database_that_does_not_answer_is_a_503(tmp_path: Path) -> None:
    """The page says the database is away, in one line: no traceback, no path, no secret."""
    config_path = tmp_path / "syncd.yaml"
    config_path.write_text(
        json.dumps(
            {
                "sources": [
                    {
                        "name": "handbook",
                        "connector": "markdown",
                        "url": "https://h.example.com",
                        "options": {"path": str(tmp_path)},
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    config = load_config(config_path)
    gone = sa.create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'state.db'}")
    page = StatusPage(
        lambda next_runs: collect(config, sessionmaker(gone), next_runs), dict, SECRET, None
    )
    server = HttpServer(lambda: None, host="127.0.0.1", port=0, status=page)
    server.start()
    try:
        for path in ("/", "/status", "/status.json"):
            answer = httpx.get(f"{server.url}{path}")
            assert answer.status_code == 503, path
            assert answer.text == (
                "status unavailable: the state database did not answer (OperationalError)\n"
            )
        # Without a way to ask for runs there is no form, and the route refuses.
        assert not page.can_run
        assert httpx.post(f"{server.url}/status/run/handbook").status_code == 404
    finally:
        server.stop()
