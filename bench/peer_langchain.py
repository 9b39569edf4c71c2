"""One run of LangChain's indexing API over a Markdown tree: the peer of ``bench.peer``.

Run with the peer's own Python (a throwaway virtualenv holding ``langchain`` 0.3 and
``greenlet``), never the project's: it imports nothing of syncd. Every ``.md`` file is loaded
as a document (its path the source id) and indexed with ``SQLRecordManager`` (SQLite) and
``cleanup="incremental"``, LangChain's way of skipping what did not change: a document whose
content hash the record manager holds is neither embedded nor written again. The vector store
is an in-memory one with constant embeddings (no model, no network); on a no-op it gets nothing.

Prints the indexing result (added, updated, skipped, deleted) as JSON.

Usage: PEER_PYTHON bench/peer_langchain.py FOLDER RECORDS.sqlite
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator

from langchain.indexes import SQLRecordManager, index  # type: ignore[import-not-found]
from langchain_core.documents import Document  # type: ignore[import-not-found]
from langchain_core.embeddings import Embeddings  # type: ignore[import-not-found]
from langchain_core.vectorstores import InMemoryVectorStore  # type: ignore[import-not-found]


def documents(root: str) -> Iterator[Document]:
    """Every Markdown file under ``root``, in name order."""
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".md"):
                path = os.path.join(folder, name)  # noqa: PTH118
                with open(path, encoding="utf-8") as handle:  # noqa: PTH123
                    yield Document(page_content=handle.read(), metadata={"source": path})


class Constant(Embeddings):  # type: ignore[misc]
    """Embeddings without a model: the benchmark is about what indexing skips, not vectors."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One constant vector per text."""
        return [[1.0, 0.0] for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        """A constant vector."""
        return [1.0, 0.0]


def main() -> None:
    """Index the folder once and print what the indexing did."""
    root, records = sys.argv[1], sys.argv[2]
    manager = SQLRecordManager("bench", db_url=f"sqlite:///{records}")
    manager.create_schema()
    store = InMemoryVectorStore(Constant())
    result = index(
        documents(root),
        manager,
        store,
        cleanup="incremental",
        source_id_key="source",
        key_encoder="sha256",
    )
    print(json.dumps(dict(result)))


if __name__ == "__main__":
    main()
