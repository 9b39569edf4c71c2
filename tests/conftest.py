"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """The real exports and Markdown trees kept beside the project; skips when absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("shared fixtures folder not present beside the project")
    return SHARED_FIXTURES
