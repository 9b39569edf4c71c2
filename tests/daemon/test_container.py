"""The container image's defaults, checked on real processes: state in the volume, health check
on the configured port."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.daemon.test_end_to_end import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def dockerfile_env() -> dict[str, str]:
    """The variables the image's ENV instructions set."""
    found: dict[str, str] = {}
    for instruction in re.findall(r"^ENV (.+?)(?<!\\)$", DOCKERFILE, re.MULTILINE | re.DOTALL):
        for pair in shlex.split(instruction.replace("\\\n", " ")):
            name, _, value = pair.partition("=")
            found[name] = value
    return found


def environment(**variables: str) -> dict[str, str]:
    """This process's environment without SYNCD_* variables, plus ``variables``."""
    kept = {k: v for k, v in os.environ.items() if not k.upper().startswith("SYNCD_")}
    return kept | variables


def test_image_keeps_the_default_state_in_its_volume(tmp_path: Path) -> None:
    """With the image's SYNCD_STATE_DIR the default SQLite state lands there, not beside the
    read-only configuration."""
    image_env = dockerfile_env()
    volume = re.search(r'^VOLUME \["([^"]+)"\]', DOCKERFILE, re.MULTILINE)
    assert volume is not None
    assert image_env["SYNCD_STATE_DIR"] == volume[1]
    assert image_env["SYNCD_CONFIG"].startswith("/etc/syncd/")
    config_dir, state_dir = tmp_path / "etc-syncd", tmp_path / "var-lib-syncd"
    config_dir.mkdir()
    state_dir.mkdir()
    (config_dir / "syncd.yaml").write_text("sources: []\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "syncd", "db", "upgrade"],
        cwd=tmp_path,
        env=environment(
            SYNCD_CONFIG=str(config_dir / "syncd.yaml"), SYNCD_STATE_DIR=str(state_dir)
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert str(state_dir / "syncd.db") in result.stdout
    assert sorted(p.name for p in config_dir.iterdir()) == ["syncd.yaml"]


def healthcheck(config: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run the image's HEALTHCHECK command as Docker would, with SYNCD_CONFIG set."""
    command = re.search(r"HEALTHCHECK .*?CMD (\[.*?\])", DOCKERFILE, re.DOTALL)
    assert command is not None
    argv = [part.strip(' "') for part in command[1].strip("[]").split(",")]
    assert argv[0] == "python"
    return subprocess.run(
        [sys.executable, *argv[1:]],
        env=environment(SYNCD_CONFIG=str(config), **variables),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_healthcheck_follows_server_port_of_the_configuration(tmp_path: Path) -> None:
    """The image's health check asks the port the configuration gives, and fails elsewhere."""
    port = free_port()
    config = tmp_path / "syncd.yaml"
    config.write_text(
        "intercom: {token: t, base_url: 'http://127.0.0.1:9'}\n"
        f"state: {{url: 'sqlite:///state.db'}}\nserver: {{host: 127.0.0.1, port: {port}}}\n"
        "sources: []\n",
        encoding="utf-8",
    )
    daemon = subprocess.Popen(
        [sys.executable, "-m", "syncd", "--config", str(config), "run"],
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert daemon.poll() is None, "the daemon exited"
            assert time.monotonic() < deadline, "the daemon did not serve /healthz"
            time.sleep(0.1)
        healthy = healthcheck(config)
        assert healthy.returncode == 0, healthy.stderr
        # The same variable the daemon would read moves the check too.
        elsewhere = free_port()
        moved = healthcheck(config, SYNCD_SERVER__PORT=str(elsewhere))
        assert moved.returncode == 1
        assert moved.stderr.startswith(
            f"syncd healthcheck: http://127.0.0.1:{elsewhere}/healthz: "
        ), moved.stderr
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    stopped = healthcheck(config)
    assert stopped.returncode == 1
    assert len(stopped.stderr.splitlines()) == 1
