"""The configuration keys of change triggers and hooks: schedule.watch, schedule.poll, hooks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from syncd.config.loading import load_config
from syncd.errors import ConfigError

CONFIG = """\
intercom: {{token: t}}
server: {{hook_secret: "{secret}"}}
sources:
  - name: docs
    connector: markdown
    url: https://docs.example.com
    schedule: {schedule}
    options: {{path: ./docs}}
"""


def write(tmp_path: Path, *, schedule: str = "{interval: 15m}", secret: str = "") -> Path:
    """A one-source configuration with the given schedule and hook secret."""
    (tmp_path / "docs").mkdir(exist_ok=True)
    path = tmp_path / "syncd.yaml"
    path.write_text(CONFIG.format(schedule=schedule, secret=secret), encoding="utf-8")
    return path


def test_watch_and_poll_are_read_with_their_defaults(tmp_path: Path) -> None:
    """watch defaults to off and poll to 10 s; both are read from the schedule."""
    plain = load_config(write(tmp_path)).sources[0].schedule
    assert (plain.watch, plain.poll) == (False, dt.timedelta(seconds=10))
    path = write(tmp_path, schedule="{interval: 1h, watch: true, poll: 5s}")
    watched = load_config(path).sources[0].schedule
    assert (watched.watch, watched.poll) == (True, dt.timedelta(seconds=5))


def test_a_poll_under_a_second_is_refused(tmp_path: Path) -> None:
    """Polling faster than once a second is a configuration error naming the key."""
    path = write(tmp_path, schedule="{interval: 1h, watch: true, poll: 0.2}")
    with pytest.raises(ConfigError, match=r"schedule\.poll"):
        load_config(path)


def test_an_empty_hook_secret_means_no_hook_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hook_secret unset, or empty through ${VAR:-}, is None; a set one stays secret."""
    monkeypatch.delenv("HOOK_SECRET_FOR_TEST", raising=False)
    path = write(tmp_path, secret="${HOOK_SECRET_FOR_TEST:-}")
    assert load_config(path).server.hook_secret is None
    monkeypatch.setenv("HOOK_SECRET_FOR_TEST", "s3cret-s3cret-s3cret")
    secret = load_config(path).server.hook_secret
    assert secret is not None
    assert secret.get_secret_value() == "s3cret-s3cret-s3cret"
    assert "s3cret" not in repr(load_config(path).server)


def test_an_unset_hook_secret_variable_means_no_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hook_secret: ${VAR} with VAR unset is no endpoint, never the text of the reference."""
    monkeypatch.delenv("HOOK_SECRET_FOR_TEST", raising=False)
    config = load_config(write(tmp_path, secret="${HOOK_SECRET_FOR_TEST}"))
    assert config.server.hook_secret is None
    config.require("intercom", "server", *config.sources)  # `syncd run` starts without it
