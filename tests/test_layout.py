"""The house: wings on disk, imports one way between them, one name per module, small modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.layout import FOLDERS, ROOT, edges, imports, modules, wing

# A wing may import only wings of a lower layer (and itself). Read bottom-up: errors and
# secrets know nothing; the process runtime, logging and the document contract (connectors.base)
# know little more; rendering and HTTP know the document contract; connectors know those;
# configuration, state and the publisher know connectors' options; the engine knows them all;
# the app wires the engine; the daemon schedules the app; the command line starts either.
LAYERS = {
    "errors": 0,
    "redact": 0,
    "runtime": 1,
    "connectors.model": 1,  # the values passed between engine and connector
    "log": 2,
    "metrics": 2,
    "connectors": 2,  # the package itself: a docstring
    "connectors.base": 2,
    "net": 3,
    "render": 3,
    "extract": 4,  # attachments' text, for any connector with files
    "connectors.registry": 5,
    "sandbox": 5,
    "config": 6,
    "state": 6,
    "migrations": 6,
    "publisher": 6,
    "sync": 7,
    "app": 8,
    "status": 8,
    "daemon": 9,
    "cli": 10,
    "__main__": 11,
    "syncd": 11,
}
# Connector families (connectors.markdown, ...) sit beside the registry that loads them.
CONNECTOR_FAMILY = 5
# The state wing and its migrations depend on each other by design: Alembic's env reads the
# models, and the database module knows the newest revision.
SAME_WING = {frozenset({"state", "migrations"})}


def layer(name: str) -> int:
    if name in LAYERS:
        return LAYERS[name]
    assert name.startswith("connectors."), f"{name}: a new wing needs a layer in LAYERS"
    return CONNECTOR_FAMILY


def test_every_import_between_wings_goes_down() -> None:
    """No wing imports one of its own layer or above (no cycles, one-way dependencies)."""
    upward = {
        (source, target): sorted(importers)
        for (source, target), importers in edges().items()
        if layer(target) >= layer(source) and frozenset({source, target}) not in SAME_WING
    }
    assert upward == {}


def test_connectors_read_sources_only() -> None:
    """A connector never imports the tracker, the publisher or SQLAlchemy (DESIGN.md)."""
    offenders = [
        (name, target)
        for name, path in modules()
        if wing(name).startswith("connectors.")
        for target in imports(path)
        if target.split(".")[0] == "sqlalchemy"
        or target.startswith(("syncd.state", "syncd.publisher", "syncd.sync"))
    ]
    assert offenders == []


def test_at_most_ten_modules_directly_in_syncd() -> None:
    """The package's top holds the entry points and the few things every wing uses."""
    top = sorted(path.name for path in (ROOT / "syncd").glob("*.py"))
    assert len(top) <= 10, top


def test_the_links_are_the_only_second_names() -> None:
    """syncd/connectors and syncd/migrations link to the top-level folders, nothing else."""
    links = sorted(p.name for p in (ROOT / "syncd").iterdir() if p.is_symlink())
    assert links == ["connectors", "migrations"]
    for name in links:
        assert (ROOT / "syncd" / name).resolve() == FOLDERS[f"syncd.{name}"].resolve()


@pytest.mark.parametrize("package", ["connectors", "migrations"])
def test_a_linked_folder_has_one_import_name(package: str) -> None:
    """Imported by its folder name from the repository root, a linked package refuses to load."""
    result = subprocess.run(
        [sys.executable, "-c", f"import {package}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert f"import syncd.{package}, not {package}" in result.stderr


def test_no_module_over_400_lines() -> None:
    """A module past 400 lines wants splitting along a seam (the style guide's limit)."""
    long = {
        str(path.relative_to(ROOT)): count
        for _, path in modules()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}
