"""The contract every connector keeps, as a test mixin.

A connector's test module subclasses :class:`ConnectorContract` and provides the
``connector`` fixture: a connector over a small source with at least two documents. Every
behaviour the engine relies on is checked here once, for all connectors.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from syncd.connectors.base import Connector, Document, DocumentExcluded, DocumentRef


class ConnectorContract:
    """Mixin of contract tests; subclasses provide a ``connector`` fixture."""

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
