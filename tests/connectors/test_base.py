"""The connector base: one way in from raw options, in both spellings of the options model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest

from syncd.connectors.base import (
    Connector,
    ConnectorOptions,
    ConnectorSetup,
    Document,
    DocumentRef,
    SourceInfo,
)

SOURCE = SourceInfo(name="notes", url="https://notes.example.com")


class NotesOptions(ConnectorOptions):
    folder: Path
    titles: dict[str, str] = pydantic.Field(default_factory=dict)


class TypedNotes(Connector[NotesOptions]):
    """Names its options model as the type parameter."""

    def list(self) -> Iterator[DocumentRef]:
        return iter([DocumentRef(key, "1") for key in self.options.titles])

    def fetch(self, ref: DocumentRef) -> Document:
        return Document(title=self.options.titles[ref.id], body="<p>x</p>")


class PlainNotes(Connector):
    """Sets ``Options``, as connectors written before the type parameter do."""

    Options = NotesOptions

    def list(self) -> Iterator[DocumentRef]:
        return iter(())

    def fetch(self, ref: DocumentRef) -> Document:
        raise NotImplementedError


@pytest.mark.parametrize("kind", [TypedNotes, PlainNotes])
def test_either_spelling_configures_and_opens(kind: type[Connector], tmp_path: Path) -> None:
    """Both spellings validate raw options (paths against the config folder) and open."""
    assert kind.Options is NotesOptions
    setup = kind.configure({"folder": "docs", "titles": {"a": "A"}}, base_dir=tmp_path)
    assert isinstance(setup, ConnectorSetup) and setup.kind is kind
    with setup.open(SOURCE) as connector:
        assert isinstance(connector, kind)
        assert isinstance(connector.options, NotesOptions)
        assert connector.options.folder == tmp_path / "docs"
        assert connector.source == SOURCE
    again = kind.from_config({"folder": "/srv/notes"}, source=SOURCE, base_dir=tmp_path)
    assert again.options == NotesOptions(folder=Path("/srv/notes"))


def test_bad_options_name_the_key() -> None:
    """An unknown or missing key is a validation error naming it; nothing is opened."""
    with pytest.raises(pydantic.ValidationError) as caught:
        TypedNotes.configure({"titels": {}}, base_dir=Path())
    assert {error["loc"][0] for error in caught.value.errors()} == {"folder", "titels"}


def test_options_of_another_connector_are_refused() -> None:
    """Opening a connector with another model's options fails at once, naming both."""
    with pytest.raises(TypeError, match="TypedNotes needs NotesOptions, not ConnectorOptions"):
        TypedNotes(ConnectorOptions(), source=SOURCE)  # type: ignore[arg-type]
