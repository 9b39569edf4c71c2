"""Attachments of Confluence HTML and XML exports as pages: the real exports' files, and exports
built with real PDF, Word and PowerPoint files, listed with their pages, titled and linked as
people name them, current versions only."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.connectors.base import DocumentError, DocumentExcluded, DocumentUnreadable
from syncd.sandbox import SandboxServer, SandboxSettings
from tests import officefiles
from tests.connectors.confluence_builder import ExportBuilder
from tests.connectors.confluence_xml_builder import PKG, XmlExportBuilder, prop, ref
from tests.connectors.test_confluence import SITE, make_connector

TYPES = {"types": ["pdf", "docx", "xlsx", "txt"]}
TYPES_XML = {"types": ["pdf", "pptx", "xlsx"]}
REAL = "confluence-html-coding-cli-2021"


def built_export(tmp_path: Path) -> Path:
    """Two pages: one links its PDF by a name people use and has a Word file and a picture;
    the other holds a scan; plus a damaged PDF."""
    export = ExportBuilder()
    export.add(
        "10",
        "Policies",
        '<p>Read the <a href="attachments/10/20.pdf">refund policy</a>.</p>',
        attachments=[("20.pdf", "refunds.pdf"), ("21.docx", "guide.docx"), ("22.png", "logo.png")],
    )
    export.add(
        "11",
        "Audits",
        "<p>Scans.</p>",
        parents=["10"],
        attachments=[("30.pdf", "2019-03-27.pdf"), ("31.pdf", "cut.pdf")],
    )
    root = export.write_folder(tmp_path / "export")
    files = root / "attachments"
    (files / "10" / "20.pdf").write_bytes(officefiles.pdf_file(["Refunds within 30 days."]))
    (files / "10" / "21.docx").write_bytes(officefiles.docx_file())
    (files / "11" / "30.pdf").write_bytes(officefiles.scanned_pdf())
    (files / "11" / "31.pdf").write_bytes(officefiles.pdf_file(["cut"])[:-300])
    return root


def test_attachments_are_listed_with_their_pages_and_named_as_people_name_them(
    tmp_path: Path,
) -> None:
    """A page's files of the chosen types are documents: the link text a page uses, else the
    document's title, else 'Page title: original name'; the URL is the site's download link."""
    connector = make_connector(built_export(tmp_path), attachments=TYPES)
    refs = {ref.id: ref for ref in connector.list()}
    assert set(refs) == {
        "10",
        "11",
        "attachments/10/20.pdf",
        "attachments/10/21.docx",
        "attachments/11/30.pdf",
        "attachments/11/31.pdf",
    }
    policy = connector.fetch(refs["attachments/10/20.pdf"])
    assert (policy.title, policy.external_id) == ("refund policy", "attachment:20")
    assert policy.url == f"{SITE}/download/attachments/10/refunds.pdf"
    assert policy.body == "<section><p>Refunds within 30 days.</p></section>"
    guide = connector.fetch(refs["attachments/10/21.docx"])
    assert (guide.title, guide.url) == (
        "Onboarding guide",
        f"{SITE}/download/attachments/10/guide.docx",
    )
    with pytest.raises(DocumentExcluded) as scan:
        connector.fetch(refs["attachments/11/30.pdf"])
    assert scan.value.reason == "no text" and "2019-03-27.pdf" in str(scan.value)
    with pytest.raises(DocumentUnreadable, match=r"31\.pdf \(cut\.pdf, attached to page 11\)"):
        connector.fetch(refs["attachments/11/31.pdf"])


def test_a_page_leaving_the_export_takes_its_attachments_along(tmp_path: Path) -> None:
    """Only the files of listed pages are listed: when a page goes, so do its files."""
    root = built_export(tmp_path)
    (root / "Audits_11.html").unlink()
    refs = {ref.id for ref in make_connector(root, attachments=TYPES).list()}
    assert refs == {"10", "attachments/10/20.pdf", "attachments/10/21.docx"}


def test_attachments_are_off_by_default(tmp_path: Path) -> None:
    """Without `attachments`, only pages are listed."""
    refs = {ref.id for ref in make_connector(built_export(tmp_path)).list()}
    assert refs == {"10", "11"}


def test_real_export_text_attachment_is_titled_by_its_page_and_original_name(
    shared_fixtures: Path,
) -> None:
    """The real export's text file, named 65616.txt on disk, is titled by its page and name."""
    connector = make_connector(shared_fixtures / REAL / "space1", attachments=TYPES)
    refs = {ref.id: ref for ref in connector.list()}
    document = connector.fetch(refs["attachments/65615/65616.txt"])
    name = "Lorem Ipsum 2021-06-08T10_55_27+0800.txt"
    assert document.title == f"Attachment Demo: {name}"
    assert document.external_id == "attachment:65616"
    encoded = "Lorem%20Ipsum%202021-06-08T10_55_27%2B0800.txt"
    assert document.url == f"{SITE}/download/attachments/65615/{encoded}"
    assert "无人爱苦" in document.body


def test_real_zipped_export_spreadsheet_becomes_a_table(shared_fixtures: Path) -> None:
    """The real zipped export's spreadsheet is read from the zip into a table."""
    zipped = next((shared_fixtures / REAL).glob("*.html.zip"))
    connector = make_connector(zipped, attachments=TYPES)
    refs = {ref.id: ref for ref in connector.list()}
    assert [ref for ref in refs if ref.startswith("attachments/")] == [
        "attachments/65638/65651.xlsx"
    ]
    document = connector.fetch(refs["attachments/65638/65651.xlsx"])
    assert "<table>" in document.body and document.title.endswith(".xlsx")
    assert not document.title.removesuffix(".xlsx").isdigit()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token="cf-token", rate_limit=0)) as server:
        yield server


def test_sync_publishes_attachments_and_removes_them_with_their_page(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """`syncd sync`: pages and their files published (exit 3 for the damaged PDF); a page
    removed from the export takes its files' pages with it."""
    root = built_export(tmp_path)
    config = tmp_path / "syncd.yaml"
    config.write_text(
        json.dumps(
            {
                "intercom": {"token": "cf-token", "base_url": sandbox.url},
                "state": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
                "sources": [
                    {
                        "name": "wiki",
                        "connector": "confluence_export",
                        "url": SITE,
                        "max_delete_fraction": 1.0,
                        "delete_allowance": 10,
                        "options": {"path": str(root), "attachments": TYPES},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )

    def sync() -> tuple[int, dict[str, object]]:
        result = subprocess.run(
            [sys.executable, "-m", "syncd", "--config", str(config), "sync", "--json"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return result.returncode, json.loads(result.stdout)["sources"][0]

    code, report = sync()
    assert (code, report["created"], report["excluded"], report["failed"]) == (3, 4, 1, 1)
    source = next(s for s in sandbox.store.list_sources() if s["url"] == SITE)
    pages = {p["external_id"] for p in sandbox.store.pages_of(int(source["id"]))}
    assert pages == {"10", "11", "attachment:20", "attachment:21"}
    (root / "Policies_10.html").unlink()
    code, report = sync()
    assert report["deleted"] == 3
    pages = {p["external_id"] for p in sandbox.store.pages_of(int(source["id"]))}
    assert pages == {"11"}


def xml_attachment(att_id: str, page_id: str, name: str, version: int, original: str = "") -> str:
    """An Attachment object; ``original`` makes it a historical version of that attachment."""
    return (
        f'<object class="Attachment" {PKG}><id name="id">{att_id}</id>{prop("title", name)}'
        f'<property name="version">{version}</property>'
        f"{ref('containerContent', 'Page', page_id)}{prop('contentStatus', 'current')}"
        f"{ref('originalVersion', 'Attachment', original or None)}</object>"
    )


def xml_export(tmp_path: Path, *, zipped: bool) -> Path:
    """A space with one page whose PDF has two versions, the second current, and a deck."""
    export = XmlExportBuilder(export_type="space", space_key="ENG")
    export.space("1", "ENG", "Engineering")
    export.page("10", "Policies", "<p>See the files.</p>")
    export.extra += [
        xml_attachment("20", "10", "refunds.pdf", 2),
        xml_attachment("19", "10", "refunds.pdf", 1, original="20"),
        xml_attachment("21", "10", "review.pptx", 1),
    ]
    files = {
        "attachments/10/20/1": officefiles.pdf_file(["Old refunds: 14 days."]),
        "attachments/10/20/2": officefiles.pdf_file(["Refunds within 30 days."]),
        "attachments/10/21/1": officefiles.pptx_file(),
    }
    if zipped:
        path = export.write_zip(tmp_path / "export.zip")
        with zipfile.ZipFile(path, "a") as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        return path
    path = export.write_folder(tmp_path / "export")
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
def test_xml_export_publishes_the_current_version_of_each_attachment(
    tmp_path: Path, zipped: bool
) -> None:
    """Only an attachment's current version is listed and read; its version is Confluence's."""
    connector = make_connector(xml_export(tmp_path, zipped=zipped), attachments=TYPES_XML)
    refs = {ref.id: ref for ref in connector.list()}
    assert set(refs) == {"10", "attachments/10/20", "attachments/10/21"}
    assert refs["attachments/10/20"].version.startswith("v2:")
    document = connector.fetch(refs["attachments/10/20"])
    assert document.body == "<section><p>Refunds within 30 days.</p></section>"
    assert (document.title, document.external_id) == ("Policies: refunds.pdf", "attachment:20")
    assert document.url == f"{SITE}/download/attachments/10/refunds.pdf"
    deck = connector.fetch(refs["attachments/10/21"])
    assert deck.title == "Policies: review.pptx" and "<h2>Quarterly review</h2>" in deck.body


def test_xml_export_without_attachment_files_fails_each_named(tmp_path: Path) -> None:
    """A site backup has no attachments folder: each file fails alone, saying why."""
    path = xml_export(tmp_path, zipped=False)
    shutil.rmtree(path / "attachments")
    connector = make_connector(path, attachments=TYPES_XML)
    refs = {ref.id: ref for ref in connector.list()}
    with pytest.raises(DocumentError, match=r"refunds\.pdf.*holds no file for it"):
        connector.fetch(refs["attachments/10/20"])


def test_real_xml_export_attachment_history_reads_only_current_versions(
    shared_fixtures: Path,
) -> None:
    """The real export's two attachments are listed once each at their current version; the
    files it carries are placeholders, so each fails named as not what its name says."""
    path = shared_fixtures / "confluence-xml-xwiki-contrib" / "attachmenthistory"
    connector = make_connector(path, attachments=TYPES_XML)
    refs = {r.id: r for r in connector.list() if r.id.startswith("attachments/")}
    assert {r: v.version.split(":")[0] for r, v in refs.items()} == {
        "attachments/369483298/369483300": "v3",
        "attachments/369483298/369483299": "v6",
    }
    with pytest.raises(DocumentUnreadable, match=r"369483300/3 \(API\.pdf.*not a PDF"):
        connector.fetch(refs["attachments/369483298/369483300"])
