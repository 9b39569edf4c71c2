"""A missing source folder reads the same whichever file-based connector reports it."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.connectors import registry
from syncd.connectors.base import SourceInfo, SourceUnavailable


@pytest.mark.parametrize("name", ["markdown", "confluence_export"])
def test_missing_folder_reads_alike(tmp_path: Path, name: str) -> None:
    """Markdown and Confluence both say "<path>: does not exist" for a folder that is not there."""
    missing = tmp_path / "nowhere"
    setup = registry.load(name).configure(
        {"path": str(missing), "base_url": "https://docs.example.com/"}, base_dir=tmp_path
    )
    connector = setup.open(SourceInfo(name="docs", url="https://docs.example.com"))
    try:
        with pytest.raises(SourceUnavailable) as info:
            list(connector.list())
    finally:
        connector.close()
    assert str(info.value) == f"{missing}: does not exist"
