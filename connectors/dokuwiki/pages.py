"""What pages a DokuWiki holds, asked cheaply: namespace listings and named pages' versions.

listing
    A walk of the wiki's page files (``dokuwiki.getPagelist`` in Igor, ``core.listPages`` in
    Kaos and later), ACL-filtered by the wiki: every page the user may read, with its
    revision (the Unix second of its last save) and the MD5 of its text. The version is
    ``<revision>@<md5>``: a second save within the same second gets no revision of its own,
    and the hash still tells.

namespace
    ``""`` is the whole wiki; ``ops`` is ``ops:*`` at every depth.

Nothing there or not allowed: both list as an empty array. :func:`readable` asks the wiki
whether the user may read a namespace at all, so that an empty listing of a namespace the
user may not read is an error (nothing is deleted), and one of a readable namespace is a
namespace with no pages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator
from typing import Any

from syncd.connectors.dokuwiki.api import DokuWikiApi, WikiError

READ = 1  # DokuWiki's AUTH_READ
WHOLE_WIKI_DEPTH = 1000  # Kaos lists "" at depth 0 from the search index; walk the files instead
_PROBE = "syncd-acl-probe"  # a page name used to ask the ACL about a namespace


@dataclasses.dataclass(frozen=True, slots=True)
class PageRow:
    """One page of a listing: its id, revision (Unix seconds) and text hash."""

    page: str
    revision: int
    md5: str

    @property
    def version(self) -> str:
        """The connector's cheap version, ``<revision>@<md5>``."""
        return f"{self.revision}@{self.md5}"


def in_namespace(page: str, namespaces: Collection[str]) -> bool:
    """Whether ``page`` lies in one of ``namespaces`` (none configured: the whole wiki)."""
    return not namespaces or any(page.startswith(f"{ns}:") for ns in namespaces)


def _row(entry: Any, what: str) -> PageRow:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise WikiError(f"{what}: the wiki answered an entry without a page id: {entry!r:.80}")
    revision = entry.get("revision", entry.get("rev", entry.get("mtime")))
    if isinstance(revision, bool) or not isinstance(revision, int):
        raise WikiError(f"{what}: page {entry['id']!r} came without a revision")
    return PageRow(entry["id"], revision, str(entry.get("hash") or ""))


def list_namespace(api: DokuWikiApi, namespace: str) -> list[PageRow]:
    """Every page of ``namespace`` the user may read; WikiError unless the answer is a list."""
    if api.json_rpc:
        depth = 0 if namespace else WHOLE_WIKI_DEPTH
        params = {"namespace": namespace, "depth": depth, "hash": True}
    else:
        params = {"namespace": namespace, "options": {"depth": 0, "hash": True}}
    answer = api.call("core.listPages", "dokuwiki.getPagelist", params)
    what = f"listing namespace {namespace!r}" if namespace else "listing the wiki"
    if not isinstance(answer, list):
        # Igor answers every error as an empty struct: never read it as "no pages".
        raise WikiError(f"{what}: the wiki answered {type(answer).__name__}, not a list")
    return [_row(entry, what) for entry in answer]


def readable(api: DokuWikiApi, namespace: str) -> bool:
    """Whether the user may read pages of ``namespace`` (``""``: the wiki's root)."""
    probe = f"{namespace}:{_PROBE}" if namespace else _PROBE
    answer = api.call("core.aclCheck", "wiki.aclCheck", {"page": probe})
    if isinstance(answer, bool) or not isinstance(answer, int):
        raise WikiError(f"asking the ACL about {probe!r}: the wiki answered {answer!r:.80}")
    return answer >= READ


def lookup(api: DokuWikiApi, pages: Collection[str]) -> Iterator[PageRow]:
    """The rows of those ``pages`` that exist and the user may read, as a listing gives them.

    Each named page's own namespace is listed one level deep: ``getPageInfo`` would be one
    call per page, and its hash is not the listing's (Kaos hashes the file, the listing the
    trimmed text), so a page with leading blanks would look changed on every lookup.
    """
    wanted: dict[str, set[str]] = {}
    for page in pages:
        namespace, _, _ = page.rpartition(":")
        wanted.setdefault(namespace, set()).add(page)
    for namespace, names in sorted(wanted.items()):
        params: dict[str, Any]
        if api.json_rpc:  # depth counts from the namespace
            params = {"namespace": namespace, "depth": 1, "hash": True}
        else:  # depth counts from the wiki's root
            depth = namespace.count(":") + 2 if namespace else 1
            params = {"namespace": namespace, "options": {"depth": depth, "hash": True}}
        answer = api.call("core.listPages", "dokuwiki.getPagelist", params)
        if not isinstance(answer, list):
            raise WikiError(f"looking up pages of {namespace!r}: the wiki answered {answer!r:.80}")
        for entry in answer:
            row = _row(entry, f"looking up pages of {namespace!r}")
            if row.page in names:
                yield row
