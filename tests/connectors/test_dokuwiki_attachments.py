"""A private DokuWiki's media files as pages: real files in a real wiki from Debian's package,
listed and read through its remote API with the bot's login."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.connectors.base import DocumentExcluded, DocumentUnreadable
from tests import officefiles
from tests.connectors.dokuwiki_fixtures import make_connector, running_wiki

pytestmark = pytest.mark.dokuwiki


def test_media_files_of_the_chosen_types_become_pages(tmp_path: Path) -> None:
    """Each PDF or Word file in the wiki's media is one document read through the API with
    the bot's login; a scan is 'no text', a lying name fails; pictures and media outside
    `namespaces` are not listed; without `attachments`, none is."""
    with running_wiki(tmp_path, {"ops:start": "====== Ops ======\nSee the runbook.\n"}) as wiki:
        files = {
            "ops/runbook.pdf": officefiles.pdf_file(["Restart the queue first."], title="Runbook"),
            "ops/2019-03-27.docx": officefiles.docx_file(title=None),
            "ops/scan.pdf": officefiles.scanned_pdf(),
            "ops/prices.xlsx": officefiles.docx_file(),
            "ops/logo.png": b"\x89PNG\r\n\x1a\n",
            "hr/salaries.pdf": officefiles.pdf_file(["Not in ops."]),
        }
        for name, data in files.items():
            path = wiki.data / "media" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        with make_connector(wiki, namespaces=["ops"]) as plain:
            assert [ref.id for ref in plain.list()] == ["ops:start"]

        options = {"types": ["pdf", "docx", "xlsx"]}
        with make_connector(wiki, namespaces=["ops"], attachments=options) as connector:
            refs = {ref.id: ref for ref in connector.list()}
            assert set(refs) == {
                "ops:start",
                "media/ops:runbook.pdf",
                "media/ops:2019-03-27.docx",
                "media/ops:scan.pdf",
                "media/ops:prices.xlsx",
            }
            runbook = connector.fetch(refs["media/ops:runbook.pdf"])
            assert (runbook.title, runbook.external_id) == (
                "Runbook",
                "attachment:media/ops:runbook.pdf",
            )
            assert runbook.body == "<section><p>Restart the queue first.</p></section>"
            assert runbook.url == f"{wiki.base_url}lib/exe/fetch.php?media=ops:runbook.pdf"
            minutes = connector.fetch(refs["media/ops:2019-03-27.docx"])
            assert minutes.title == "ops: 2019-03-27.docx" and "<table>" in minutes.body
            with pytest.raises(DocumentExcluded) as scan:
                connector.fetch(refs["media/ops:scan.pdf"])
            assert scan.value.reason == "no text"
            with pytest.raises(DocumentUnreadable, match="not an Excel workbook"):
                connector.fetch(refs["media/ops:prices.xlsx"])
