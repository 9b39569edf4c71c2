"""cmark-gfm rendering: importing it costs no C parsing; rendering frees what it allocates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from syncd.render import cmark

_ROOT = Path(__file__).resolve().parents[2]


def test_importing_parses_no_c_declarations_until_the_first_render() -> None:
    """pycparser (about 30 ms) loads on the first render, not when a command starts."""
    probe = (
        "import sys\n"
        "import syncd.render.cmark, syncd.connectors.markdown.connector, syncd.render.content\n"
        "print('pycparser' in sys.modules)\n"
        "from syncd.render.cmark import markdown_to_html\n"
        "print(markdown_to_html('*x*', options=0, extensions=['table']).strip())\n"
        "print('pycparser' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=_ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[:3] == ["False", "<p><em>x</em></p>", "True"]


def test_rendering_gives_html_and_refuses_unknown_extensions() -> None:
    """The bindings render GFM, and name an extension cmark-gfm does not have."""
    html = cmark.markdown_to_html("| a |\n|---|\n| 1 |\n", options=0, extensions=["table"])
    assert "<table>" in html and "<td>1</td>" in html
    with pytest.raises(ValueError, match="'nope'"):
        cmark.markdown_to_html("x", options=0, extensions=["nope"])
