"""Fakes at the edges: an in-memory connector and an HTTP transport that rejects chosen pages."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Iterator, Sequence

import httpx

from syncd.connectors.base import (
    Connector,
    ConnectorOptions,
    Document,
    DocumentError,
    DocumentExcluded,
    DocumentRef,
    SourceInfo,
    SourceUnavailable,
)


@dataclasses.dataclass
class MemoryDoc:
    """One document of a :class:`MemoryConnector`."""

    title: str
    body: str
    version: int = 1
    external_id: str | None = None
    broken: bool = False
    draft: bool = False
    changed_at: float | None = None


class MemoryConnector(Connector):
    """A source held in a dict, changed by tests between runs."""

    def __init__(self, docs: dict[str, MemoryDoc] | None = None, *, name: str = "mem") -> None:
        super().__init__(ConnectorOptions(), source=SourceInfo(name, f"https://{name}.example.com"))
        self.docs: dict[str, MemoryDoc] = docs if docs is not None else {}
        self.fetched: list[str] = []
        self.listing_fails = False
        self.listings = 0
        self.can_look_up = True
        self.listing_fingerprint: str | None = None  # what fingerprint() answers

    def fingerprint(self) -> str | None:
        return self.listing_fingerprint

    def lookup(self, ids: Collection[str]) -> Sequence[DocumentRef] | None:
        if not self.can_look_up:
            return None
        return [DocumentRef(i, str(self.docs[i].version)) for i in ids if i in self.docs]

    def list(self) -> Iterator[DocumentRef]:
        self.listings += 1
        for count, (ref_id, doc) in enumerate(list(self.docs.items())):
            if self.listing_fails and count == len(self.docs) // 2:
                raise SourceUnavailable("connection reset while listing")
            yield DocumentRef(ref_id, str(doc.version))

    def fetch(self, ref: DocumentRef) -> Document:
        self.fetched.append(ref.id)
        doc = self.docs.get(ref.id)
        if doc is None:
            raise DocumentError(f"{ref.id}: vanished")
        if doc.broken:
            raise DocumentError(f"{ref.id}: cannot parse")
        if doc.draft:
            raise DocumentExcluded(f"{ref.id}: draft", reason="draft")
        return Document(
            title=doc.title,
            body=doc.body,
            body_format="markdown",
            url=f"https://{self.source.name}.example.com/{ref.id}",
            external_id=doc.external_id,
            changed_at=doc.changed_at,
        )


class RejectingTransport(httpx.BaseTransport):
    """Forwards to a real server, but answers 422 for upserts of chosen external ids."""

    def __init__(self, reject: set[str], *, revoke_after: int | None = None) -> None:
        self.reject = reject
        self.revoke_after = revoke_after  # answer 401 to every request after this many upserts
        self.upserts = 0
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/ai/external_pages":
            self.upserts += 1
            if self.revoke_after is not None and self.upserts > self.revoke_after:
                error = {"code": "token_revoked", "message": "Token revoked"}
                return httpx.Response(
                    401, json={"type": "error.list", "errors": [error]}, request=request
                )
            body = json.loads(request.read())
            if body.get("external_id") in self.reject:
                error = {"code": "data_invalid", "message": "html is too large"}
                return httpx.Response(
                    422, json={"type": "error.list", "errors": [error]}, request=request
                )
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()
