"""What the suite says when a fixture folder or PostgreSQL is missing: skip locally, fail in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

USES_BOTH = """
def test_reads_fixtures(shared_fixtures):
    assert shared_fixtures.is_dir()


def test_uses_postgres(pg_url):
    assert pg_url
"""


def run_suite(project: Path, *, ci: bool) -> subprocess.CompletedProcess[str]:
    """Run the miniature project's tests with PostgreSQL pointed at a closed port."""
    environment = {name: value for name, value in os.environ.items() if name != "CI"}
    environment["SYNCD_TEST_POSTGRES"] = "postgresql+psycopg://postgres@127.0.0.1:9/test"
    if ci:
        environment["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-rsfE"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with this suite's conftest, one test per helper, and no ../shared beside it."""
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "conftest.py", root / "tests" / "conftest.py")
    (root / "tests" / "test_uses.py").write_text(USES_BOTH, encoding="utf-8")
    return root


def test_missing_fixtures_and_postgres_skip_saying_what_to_do(project: Path) -> None:
    """Locally, each skip names where the fixtures are expected and how to get PostgreSQL."""
    result = run_suite(project, ci=False)
    assert result.returncode == 0, result.stdout
    assert "2 skipped" in result.stdout
    expected = project.parent / "shared" / "fixtures"
    assert f"../shared/fixtures beside the project root ({expected})" in result.stdout
    assert "PostgreSQL not reachable at postgresql+psycopg://postgres@127.0.0.1:9/test" in (
        result.stdout
    )
    assert "apt-get install postgresql" in result.stdout


def test_missing_fixtures_and_postgres_fail_in_ci(project: Path) -> None:
    """Under CI=true nothing may go untested: the same two tests fail with the same reasons."""
    result = run_suite(project, ci=True)
    assert result.returncode == 1, result.stdout
    assert "2 errors" in result.stdout or "2 failed" in result.stdout, result.stdout
    assert "skipped" not in result.stdout
    assert "shared fixtures not found" in result.stdout
    assert "CI=true: required" in result.stdout


def test_present_fixtures_are_used(project: Path) -> None:
    """With ../shared/fixtures beside the project the fixture gives that folder."""
    (project.parent / "shared" / "fixtures").mkdir(parents=True)
    result = run_suite(project, ci=False)
    assert "1 passed, 1 skipped" in result.stdout, result.stdout
