"""Meta-tests: every built-in connector is tested against the contract and documented."""

from __future__ import annotations

import ast
import importlib
import sys
import textwrap
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

from syncd.connectors import registry
from syncd.connectors.markdown.connector import MarkdownConnector
from tests.conftest import missing
from tests.connectors.contract import ConnectorContract

ROOT = Path(__file__).resolve().parent.parent
TEST_MODULES = sorted((ROOT / "tests" / "connectors").glob("test_*.py"))


def contract_subjects() -> set[type]:
    """Connector classes that some test module runs the contract mixin against."""
    subjects: set[type] = set()
    for path in TEST_MODULES:
        module = importlib.import_module(f"tests.connectors.{path.stem}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        contract_classes = [
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
            and any(getattr(base, "id", None) == "ConnectorContract" for base in node.bases)
        ]
        if not contract_classes:
            continue
        for cls in registry.BUILTIN:
            connector = registry.load(cls)
            # syncd.connectors.<family>.connector: the family names its test modules.
            family = connector.__module__.split(".")[2]
            if family in path.stem or connector.__name__ in (path.read_text(encoding="utf-8")):
                subjects.add(connector)
        assert all(
            issubclass(getattr(module, name), ConnectorContract) for name in contract_classes
        )
    return subjects


@pytest.mark.parametrize("name", sorted(registry.BUILTIN))
def test_connector_has_a_contract_test(name: str) -> None:
    """Each built-in connector has a test class that subclasses ConnectorContract."""
    assert registry.load(name) in contract_subjects()


@pytest.mark.parametrize("name", sorted(registry.BUILTIN))
def test_connector_is_documented_in_the_example_config(name: str) -> None:
    """Each built-in connector has a source block in config.example.yaml naming every option."""
    example = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    blocks = [s for s in example["sources"] if s["connector"] == name]
    assert blocks, f"config.example.yaml has no {name} source"
    options = registry.load(name).Options.model_fields
    assert set(options) <= set(blocks[0]["options"]), set(options) - set(blocks[0]["options"])


def test_registry_names_are_unique_and_loadable() -> None:
    """Every name the registry offers loads a Connector subclass."""
    assert registry.available()[: len(registry.BUILTIN)] == list(registry.BUILTIN)
    for name in registry.available():
        registry.load(name)
    with pytest.raises(registry.UnknownConnector, match="available: markdown"):
        registry.load("nope")


def test_built_ins_are_registered_as_entry_points() -> None:
    """pyproject.toml registers each built-in connector, exactly as the registry's table."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = project["project"]["entry-points"][registry.ENTRY_POINT_GROUP]
    assert declared == registry.BUILTIN
    installed = {
        entry.name: entry.value
        for entry in entry_points(group=registry.ENTRY_POINT_GROUP)
        if entry.dist is not None and entry.dist.name == "syncd"
    }
    if installed != declared:
        missing("syncd's installed metadata predates its entry points: pip install -e . again")


def test_a_plugin_is_loaded_but_cannot_replace_a_built_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed package adds its connector; its entry point named like a built-in is ignored."""
    (tmp_path / "acme_notes.py").write_text(
        textwrap.dedent(
            """
            from syncd.connectors.base import Connector, ConnectorOptions

            class NotesOptions(ConnectorOptions):
                notes: dict[str, str] = {}

            class NotesConnector(Connector[NotesOptions]):
                def list(self):
                    return iter(())

                def fetch(self, ref):
                    raise NotImplementedError
            """
        ),
        encoding="utf-8",
    )
    dist_info = tmp_path / "acme_notes-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-notes\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        "[syncd.connectors]\nnotes = acme_notes:NotesConnector\n"
        "markdown = acme_notes:NotesConnector\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "acme_notes", raising=False)
    assert registry.available()[: len(registry.BUILTIN)] == list(registry.BUILTIN)
    assert "notes" in registry.available()
    notes = registry.load("notes")
    assert notes.__name__ == "NotesConnector"
    assert notes.Options.__name__ == "NotesOptions"  # the type parameter names the options
    assert registry.load("markdown") is MarkdownConnector
