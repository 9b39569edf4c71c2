"""The contract every connector keeps, as a test mixin.

A connector's test module subclasses :class:`ConnectorContract`, provides the ``connector``
fixture (a connector over a small source with at least two documents) and declares what that
connector supports with the capability flags below. Every behaviour the engine relies on is
checked here once, for all connectors; each capability is checked both ways: a connector that
declares it must deliver it, and one that does not must say so (None, NotImplementedError) so
the engine falls back to listing everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from syncd.connectors.base import (
    ChangeSet,
    Connector,
    Document,
    DocumentExcluded,
    DocumentRef,
    Poll,
)


class ConnectorContract:
    """Mixin of contract tests; subclasses provide a ``connector`` fixture and their flags."""

    # Capabilities (see syncd.connectors.base): what the connector under test supports.
    fingerprint: ClassVar[bool] = False  # a listing fingerprint (Connector.fingerprint)
    lookup: ClassVar[bool] = False  # refs of named documents (Connector.lookup)
    watch_root: ClassVar[bool] = False  # a folder whose files name documents
    changes: ClassVar[bool] = False  # a change feed (Connector.poll_changes)

    @pytest.fixture
    def connector(self) -> Iterator[Connector]:
        raise NotImplementedError("subclasses provide a connector over a sample source")

    def _fetch_all(self, connector: Connector) -> dict[str, Document]:
        documents = {}
        for ref in connector.list():
            try:
                documents[ref.id] = connector.fetch(ref)
            except DocumentExcluded:
                continue
        return documents

    def _listing(self, connector: Connector) -> dict[str, DocumentRef]:
        return {ref.id: ref for ref in connector.list()}

    # Listing and fetching --------------------------------------------------------------------

    def test_listing_is_nonempty_and_unique(self, connector: Connector) -> None:
        """The listing names each document once, with a string version."""
        refs = list(connector.list())
        assert len(refs) >= 2
        assert len({ref.id for ref in refs}) == len(refs)
        assert all(isinstance(ref, DocumentRef) and ref.version for ref in refs)

    def test_listing_is_stable(self, connector: Connector) -> None:
        """Listing twice without changes gives the same ids and versions."""
        assert sorted(connector.list(), key=lambda r: r.id) == sorted(
            connector.list(), key=lambda r: r.id
        )

    def test_fetch_is_deterministic(self, connector: Connector) -> None:
        """The same source content always yields the same document."""
        assert self._fetch_all(connector) == self._fetch_all(connector)

    def test_documents_have_titles_bodies_and_absolute_urls(self, connector: Connector) -> None:
        """Every fetched document has a title, a body, and an absolute URL when it has one."""
        documents = self._fetch_all(connector)
        assert documents
        for ref_id, document in documents.items():
            assert document.title.strip(), ref_id
            assert document.body.strip(), ref_id
            assert document.url is None or document.url.startswith(("http://", "https://"))

    def test_external_ids_are_unique(self, connector: Connector) -> None:
        """No two documents claim the same external id."""
        documents = self._fetch_all(connector)
        ids = [doc.external_id or ref_id for ref_id, doc in documents.items()]
        assert len(set(ids)) == len(ids)

    def test_options_model_is_the_declared_one(self, connector: Connector) -> None:
        """The connector's options are an instance of its class's options model."""
        assert isinstance(connector.options, type(connector).Options)

    # Capabilities ----------------------------------------------------------------------------

    def test_listing_fingerprint_as_declared(self, connector: Connector) -> None:
        """With the capability, an unchanged source gives one fingerprint; without it, None."""
        first = connector.fingerprint()
        if not self.fingerprint:
            assert first is None
            return
        assert isinstance(first, str) and first
        assert connector.fingerprint() == first
        assert self._listing(connector)

    def test_lookup_as_declared(self, connector: Connector) -> None:
        """With the capability, lookup answers as the listing does; without it, None."""
        listing = self._listing(connector)
        asked = sorted(listing)[:2]
        found = connector.lookup([*asked, "999999999", "no/such/page.md"])
        if not self.lookup:
            assert found is None
            return
        assert found is not None
        assert {ref.id: ref for ref in found} == {ref_id: listing[ref_id] for ref_id in asked}
        assert list(connector.lookup([]) or []) == []

    def test_watch_root_as_declared(self, connector: Connector) -> None:
        """With the capability, files under the watched folder name every listed document."""
        root = connector.watch_root()
        if not self.watch_root:
            assert root is None
            return
        assert root is not None and root.is_dir()
        named = {connector.ref_id_of(path) for path in Path(root).rglob("*") if path.is_file()}
        assert set(self._listing(connector)) <= named

    def test_changes_as_declared(self, connector: Connector) -> None:
        """With the capability, polls chain by cursor and settle on nothing changed."""
        if not self.changes:
            with pytest.raises(NotImplementedError):
                connector.poll_changes(None)
            return
        assert connector.can_poll()
        first = connector.poll_changes(None)
        assert isinstance(first, Poll) and isinstance(first.cursor, str)
        assert isinstance(first.changes, ChangeSet)
        # The first cursor may start a little in the past (a wiki's feed does); once the feed
        # has been read up to now, an unchanged source has nothing more to say.
        settled = connector.poll_changes(connector.poll_changes(first.cursor).cursor)
        assert not settled.changes
