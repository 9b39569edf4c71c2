"""The dokuwiki connector's options, as ``load_config`` checks them (no wiki needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from syncd.config.loading import load_config
from syncd.connectors.dokuwiki.connector import DokuWikiOptions
from syncd.connectors.dokuwiki.html import first_heading, url_style_of
from syncd.errors import ConfigError

SOURCE = {"name": "ops", "connector": "dokuwiki", "url": "https://wiki.example.com"}


def _load(tmp_path: Path, options: dict[str, Any], **source: Any) -> Any:
    config = tmp_path / "syncd.yaml"
    config.write_text(
        json.dumps({"sources": [{**SOURCE, **source, "options": options}]}), encoding="utf-8"
    )
    return load_config(config).sources[0]


def test_a_password_over_plain_http_to_another_host_is_a_config_error(tmp_path: Path) -> None:
    """http:// with a password: refused unless loopback or ``allow_insecure_http: true``."""
    options = {"base_url": "http://wiki.example.com/", "username": "bot", "password": "h:#%2"}
    with pytest.raises(ConfigError, match="unencrypted over http://") as failure:
        _load(tmp_path, options)
    assert "sources[ops].options.password" in str(failure.value)
    assert "h:#%2" not in str(failure.value)
    assert _load(tmp_path, options, allow_insecure_http=True).name == "ops"
    for base_url in ("https://wiki.example.com/", "http://127.0.0.1:8080/dokuwiki/"):
        assert _load(tmp_path, {**options, "base_url": base_url}).name == "ops"
    assert _load(tmp_path, {"base_url": "http://wiki.example.com/"}).name == "ops"


def test_options_are_normalised_and_checked(tmp_path: Path) -> None:
    """base_url ends in /, doku.php is dropped; namespaces are ids; login is both or none."""
    options = DokuWikiOptions.model_validate(
        {"base_url": "https://wiki.example.com/doku.php", "namespaces": ["Ops:", "hr", "hr"]}
    )
    assert options.base_url == "https://wiki.example.com/"
    assert options.namespaces == ["ops", "hr"]
    with pytest.raises(ConfigError, match=r"sources\[ops\]\.options\.namespaces"):
        _load(tmp_path, {"base_url": "https://w.example.com/", "namespaces": ["a b"]})
    with pytest.raises(ConfigError, match="both 'username' and 'password'"):
        _load(tmp_path, {"base_url": "https://w.example.com/", "username": "bot"})
    with pytest.raises(ConfigError, match="url_style"):
        _load(tmp_path, {"base_url": "https://w.example.com/", "url_style": "pretty"})


def test_title_is_the_first_heading_of_any_level() -> None:
    """DokuWiki's title: the first h1-h5, entities decoded once; none without a heading."""
    assert first_heading('<p>x</p><h3 id="a">Fish &amp;amp; <em>chips</em></h3>') == (
        "Fish &amp; chips"
    )
    assert first_heading("<p>Only text</p>") is None


def test_url_style_is_read_from_the_wikis_own_links() -> None:
    """The page's own links in the wiki's page tell which URL style the wiki uses."""
    base = "https://w.example.com/wiki/"
    page = "ops:start"
    assert url_style_of('<a href="/wiki/doku.php?id=ops:start&do=edit">', base, page) == "query"
    assert url_style_of('<a href="/wiki/doku.php/ops:start?do=edit">', base, page) == "path"
    assert url_style_of('<a href="/wiki/ops:start?do=edit">', base, page) == "rewrite"
    assert url_style_of("<p>nothing</p>", base, page) == "query"
