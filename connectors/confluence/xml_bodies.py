"""Pass 2 over a Confluence XML export: the published pages' bodies, kept aside until fetched.

See :mod:`syncd.connectors.confluence.xml_index` for both passes: this one reads only the
texts of the bodies pass 1 found wanted, compressed into an anonymous temporary file.
"""

from __future__ import annotations

import dataclasses
import tempfile
import zlib
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import IO

from syncd.connectors.base import DocumentError, SourceUnavailable
from syncd.connectors.confluence.xml_entities import (
    CUT_MARK,
    EntitiesSource,
    XmlObject,
    iter_objects,
)
from syncd.connectors.confluence.xml_index import WIKI


@dataclasses.dataclass(frozen=True, slots=True)
class Body:
    """A page's stored body: its text and its bodyType (``"2"`` storage, ``"0"`` wiki)."""

    text: str
    body_type: str
    cut: bool = False  # longer than the raw page limit: its text was dropped while streaming


class BodyStore:
    """Pass 2: the wanted bodies' texts, compressed into an anonymous temporary file.

    The file lives in ``spool_dir`` (the source's cache folder, on the state volume) or the
    system's temporary folder, and is unlinked from the start, so nothing is left behind even
    by a killed process. Compressed, it takes about a fifth of the bodies' text.
    """

    def __init__(
        self, source: EntitiesSource, wanted: Collection[str], *, spool_dir: Path | None = None
    ) -> None:
        try:
            if spool_dir is not None:
                spool_dir.mkdir(parents=True, exist_ok=True)
            # Open for the store's lifetime; close() deletes it.
            self._spool: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115
                prefix="syncd-confluence-", dir=spool_dir
            )
        except OSError as exc:
            raise SourceUnavailable(
                f"cannot create a temporary file for the bodies: {exc}"
            ) from exc
        self._where: dict[str, tuple[int, int, str]] = {}
        wanted_ids = set(wanted)
        try:
            for obj in _bodies(source, wanted_ids):
                text = obj.props.get("body") or ""
                body_type = obj.text("bodyType") or WIKI
                if text.endswith(CUT_MARK):
                    self._where[obj.id] = (-1, 0, body_type)
                    continue
                data = zlib.compress(text.encode("utf-8"), 1)
                self._where[obj.id] = (self._spool.tell(), len(data), body_type)
                self._spool.write(data)
        except OSError as exc:
            self._spool.close()
            raise SourceUnavailable(f"cannot keep the bodies in a temporary file: {exc}") from exc
        except BaseException:
            self._spool.close()
            raise

    def get(self, body_id: str) -> Body | None:
        """The body with this id, or None when pass 2 did not find it."""
        where = self._where.get(body_id)
        if where is None:
            return None
        offset, length, body_type = where
        if offset < 0:
            return Body(text="", body_type=body_type, cut=True)
        self._spool.seek(offset)
        data = self._spool.read(length)
        if len(data) != length:
            raise DocumentError(f"body {body_id}: the temporary copy was cut short")
        return Body(text=zlib.decompress(data).decode("utf-8"), body_type=body_type)

    def close(self) -> None:
        """Delete the spool."""
        self._spool.close()


def _bodies(source: EntitiesSource, wanted: set[str]) -> Iterator[XmlObject]:
    for obj in iter_objects(source, {"BodyContent"}):
        if obj.id in wanted:
            yield obj
