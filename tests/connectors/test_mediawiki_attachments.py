"""A private MediaWiki's files as pages: real files uploaded to a real wiki from Debian's
packages, listed through the API with the bot's login and downloaded from the URL the wiki
gives (img_auth.php here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.connectors.base import DocumentError, DocumentExcluded, DocumentUnreadable
from tests import officefiles
from tests.connectors.mediawiki_fixtures import make_connector, running_wiki

pytestmark = pytest.mark.mediawiki

# The test server serves only MediaWiki's own folder, so files go through img_auth.php. It
# does not know bot-password sessions (MediaWiki accepts those in api.php alone), so the
# files are made readable as a public /images/ folder would make them; a file it refuses
# fails named (see the second test).
PRIVATE_FILES = """
$wgUploadPath = "/img_auth.php";
$wgWhitelistRead = array_merge( $wgWhitelistRead, [ 'File:Refund policy.pdf',
  'File:Onboarding.docx', 'File:Scan.pdf', 'File:Prices.xlsx' ] );
$wgFileExtensions = array_merge( $wgFileExtensions, [ 'pdf', 'docx', 'xlsx' ] );
$wgVerifyMimeType = false;
"""


def test_files_of_the_chosen_types_become_pages(tmp_path: Path) -> None:
    """Each PDF or Word file is one document with the wiki's URL of the file; a scan is
    excluded as 'no text', a file that is not what its name says fails named; pictures and
    files of other types are not listed; without `attachments` no file is."""
    with running_wiki(tmp_path) as wiki:
        with (wiki.root / "LocalSettings.php").open("a", encoding="utf-8") as settings:
            settings.write(PRIVATE_FILES)
        upload = tmp_path / "files"
        upload.mkdir()
        (upload / "Refund_policy.pdf").write_bytes(
            officefiles.pdf_file(["Refunds within 30 days."], title="Refunds")
        )
        (upload / "Onboarding.docx").write_bytes(officefiles.docx_file(title=None))
        (upload / "Scan.pdf").write_bytes(officefiles.scanned_pdf())
        (upload / "Prices.xlsx").write_bytes(officefiles.docx_file())
        (upload / "Hidden.pdf").write_bytes(officefiles.pdf_file(["Not for img_auth."]))
        wiki.import_images(upload)

        plain = make_connector(wiki)
        assert not [ref for ref in plain.list() if ref.id.startswith("File:")]
        plain.close()

        connector = make_connector(wiki, attachments={"types": ["pdf", "docx", "xlsx"]})
        refs = {ref.id: ref for ref in connector.list() if ref.id.startswith("File:")}
        assert set(refs) == {
            "File:Refund policy.pdf",
            "File:Onboarding.docx",
            "File:Scan.pdf",
            "File:Prices.xlsx",
            "File:Hidden.pdf",
        }
        policy = connector.fetch(refs["File:Refund policy.pdf"])
        assert (policy.title, policy.external_id) == (
            "Refunds",
            "attachment:File:Refund policy.pdf",
        )
        assert policy.body == "<section><p>Refunds within 30 days.</p></section>"
        assert policy.url is not None and "/img_auth.php/" in policy.url
        guide = connector.fetch(refs["File:Onboarding.docx"])
        assert guide.title == "File: Onboarding.docx" and "<table>" in guide.body
        with pytest.raises(DocumentExcluded) as scan:
            connector.fetch(refs["File:Scan.pdf"])
        assert scan.value.reason == "no text"
        with pytest.raises(DocumentUnreadable, match="not an Excel workbook"):
            connector.fetch(refs["File:Prices.xlsx"])
        with pytest.raises(DocumentError, match=r"File:Hidden\.pdf: .*HTTP 403.*bot password"):
            connector.fetch(refs["File:Hidden.pdf"])
        connector.close()
