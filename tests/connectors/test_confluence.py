"""The Confluence HTML export connector: listing, zips, titles, ancestors, damaged exports."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest

from syncd.connectors import registry
from syncd.connectors.base import (
    Connector,
    Document,
    DocumentError,
    DocumentExcluded,
    SourceInfo,
    SourceUnavailable,
)
from syncd.connectors.confluence.archive import ZipExport, ZipLimits
from syncd.connectors.confluence.connector import ConfluenceExportConnector, ConfluenceExportOptions
from tests.connectors.confluence_builder import ExportBuilder
from tests.connectors.contract import ConnectorContract

SITE = "https://wiki.example.com"


def make_connector(path: Path, **options: object) -> ConfluenceExportConnector:
    """A connector over ``path`` for a source whose URL is :data:`SITE`."""
    validated = ConfluenceExportOptions.model_validate({"path": path, **options})
    return ConfluenceExportConnector(validated, source=SourceInfo(name="wiki", url=SITE))


def sample() -> ExportBuilder:
    """Three pages in a tree, one of them with an ID-only file name."""
    export = ExportBuilder()
    export.add("100", "Home", '<p>Welcome. Read <a href="Guide_200.html">the guide</a>.</p>')
    export.add("200", "Guide", "<p>How to do things.</p>", parents=["100"])
    export.add("300", "CI/CD", "<p>Pipelines.</p>", parents=["100", "200"])
    return export


def fetch_all(connector: Connector) -> dict[str, Document]:
    """Every listed document that is published, by ref id (see :func:`excluded_all`)."""
    documents = {}
    for ref in connector.list():
        try:
            documents[ref.id] = connector.fetch(ref)
        except DocumentExcluded:
            continue
    return documents


def excluded_all(connector: Connector) -> dict[str, str | None]:
    """Every listed document fetched as excluded: its reason, by ref id."""
    reasons = {}
    for ref in connector.list():
        try:
            connector.fetch(ref)
        except DocumentExcluded as exc:
            reasons[ref.id] = exc.reason
    return reasons


class TestConfluenceExportContract(ConnectorContract):
    """The connector keeps the contract over a folder and over a zip."""

    changes = True  # a different export arriving

    @pytest.fixture(params=["folder", "zip"])
    def connector(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Connector]:
        if request.param == "folder":
            path = sample().write_folder(tmp_path / "export", top="DOC")
        else:
            path = sample().write_zip(tmp_path / "export.html.zip")
        with make_connector(path) as connector:
            yield connector


def test_registry_maps_the_name_to_this_connector() -> None:
    """The configured name confluence_export loads this connector class."""
    assert registry.load("confluence_export") is ConfluenceExportConnector


@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_lists_every_page_file_by_page_id_and_never_the_index(kind: str, tmp_path: Path) -> None:
    """Each page file is listed once under its page id; index.html and other files are not."""
    export = sample()
    export.add("400", "Me, evolving", file_name="Me%2C-evolving_400.html", parents=["100"])
    export.add("500", "你好世界", parents=["100"])
    files = {"notes.html": b"<p>not a page</p>", "attachments/100/7_8.html": b"<p>attached</p>"}
    if kind == "folder":
        path = export.write_folder(tmp_path / "export", top="DOC")
        for name, data in files.items():
            (path / "DOC" / name).parent.mkdir(parents=True, exist_ok=True)
            (path / "DOC" / name).write_bytes(data)
    else:
        path = export.write_zip(tmp_path / "x.zip", extra={f"DOC/{k}": v for k, v in files.items()})
    with make_connector(path) as connector:
        refs = list(connector.list())
        documents = fetch_all(connector)
    assert sorted(ref.id for ref in refs) == ["100", "200", "300", "400", "500"]
    assert documents["400"].title == "Me, evolving"
    assert documents["400"].metadata["file"] == "Me%2C-evolving_400.html"
    assert documents["500"].title == "你好世界"
    assert documents["300"].title == "CI/CD"
    assert documents["300"].metadata["file"] == "300.html"


def test_folder_version_follows_size_and_mtime(tmp_path: Path) -> None:
    """Rewriting a page file changes its version only; untouched pages keep theirs."""
    path = sample().write_folder(tmp_path / "export")
    with make_connector(path) as connector:
        before = {ref.id: ref.version for ref in connector.list()}
        page = path / "Guide_200.html"
        page.write_text(page.read_text() + "\n<!-- edited -->")
        os.utime(page, ns=(1, 1))
        after = {ref.id: ref.version for ref in connector.list()}
    assert before["200"] != after["200"]
    assert before["100"] == after["100"]
    assert before["300"] == after["300"]
    assert after["200"] == f"{page.stat().st_size}:1"


def test_zip_version_is_the_member_crc_and_size(tmp_path: Path) -> None:
    """A zipped page's version is its CRC-32 and size, so only a changed page re-versions."""
    export = sample()
    first = export.write_zip(tmp_path / "a.zip")
    export.pages[1].body = "<p>How to do things, edited.</p>"
    second = export.write_zip(tmp_path / "b.zip")
    with make_connector(first) as old, make_connector(second) as new:
        before = {ref.id: ref.version for ref in old.list()}
        after = {ref.id: ref.version for ref in new.list()}
    info = zipfile.ZipFile(second).getinfo("DOC/Guide_200.html")
    assert after["200"] == f"crc32:{info.CRC:08x}:{info.file_size}"
    assert before["200"] != after["200"]
    assert before["100"] == after["100"]


@pytest.mark.parametrize(
    ("kind", "top"), [("folder", "DOC"), ("folder", None), ("zip", "DOC"), ("zip", None)]
)
def test_finds_the_export_at_the_top_or_in_its_single_folder(
    kind: str, top: str | None, tmp_path: Path
) -> None:
    """The export root is the path itself or its one space-key folder, zipped or not."""
    export = sample()
    if kind == "folder":
        path = export.write_folder(tmp_path / "export", top=top)
        (path / "README.txt").write_text("kept beside the export")
    else:
        path = export.write_zip(tmp_path / "x.zip", top=top)
    with make_connector(path) as connector:
        assert sorted(ref.id for ref in connector.list()) == ["100", "200", "300"]


@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_several_space_folders_are_refused(kind: str, tmp_path: Path) -> None:
    """A path holding two exports stops the listing and names both folders."""
    if kind == "folder":
        sample().write_folder(tmp_path / "both", top="ONE")
        path = sample().write_folder(tmp_path / "both", top="TWO")
    else:
        one = sample().files()
        path = sample().write_zip(
            tmp_path / "x.zip", top="ONE", extra={f"TWO/{n}": d for n, d in one.items()}
        )
    with make_connector(path) as connector, pytest.raises(SourceUnavailable, match="ONE, TWO"):
        list(connector.list())


def test_a_path_without_an_export_is_unavailable(tmp_path: Path) -> None:
    """An empty folder, a missing path and a file that is no zip each stop the listing."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.zip").write_text("not a zip")
    cases = {"empty": "no Confluence export", "missing": "does not exist", "notes.zip": "neither"}
    for name, message in cases.items():
        with (
            make_connector(tmp_path / name) as connector,
            pytest.raises(SourceUnavailable, match=message),
        ):
            list(connector.list())


def test_zip_with_the_bogus_root_entry_is_read(tmp_path: Path) -> None:
    """The "/" entry real exports start with is ignored, not treated as an absolute path."""
    path = sample().write_zip(tmp_path / "x.zip", bogus_root=True)
    assert zipfile.ZipFile(path).namelist()[0] == "/"
    with make_connector(path) as connector:
        assert len(fetch_all(connector)) == 3


@pytest.mark.parametrize("name", ["../evil_900.html", "/etc/evil_900.html", "DOC/../../x_9.html"])
def test_zip_slip_names_refuse_the_archive(name: str, tmp_path: Path) -> None:
    """A member that is absolute or climbs out with '..' refuses the zip, naming the member."""
    path = sample().write_zip(tmp_path / "x.zip", extra={name: b"<p>evil</p>"})
    with make_connector(path) as connector, pytest.raises(SourceUnavailable, match="refused"):
        list(connector.list())


def test_a_zip_bomb_page_fails_alone(tmp_path: Path) -> None:
    """A page that inflates far beyond its compressed size fails; the other pages publish."""
    export = sample()
    export.add("666", "Bomb", raw=b"<html>" + b" " * (2 * 1024 * 1024) + b"</html>")
    path = export.write_zip(tmp_path / "x.zip")
    with make_connector(path) as connector:
        refs = {ref.id: ref for ref in connector.list()}
        with pytest.raises(DocumentError, match=r"Bomb_666\.html.*zip bomb"):
            connector.fetch(refs.pop("666"))
        assert all(connector.fetch(ref).title for ref in refs.values())


def test_zip_limits_on_member_and_total_size(tmp_path: Path) -> None:
    """Over the member limit one page fails; over the total limit the listing stops."""
    path = sample().write_zip(tmp_path / "x.zip")
    small = ZipExport(path, limits=ZipLimits(max_member_bytes=500))
    pages = small.pages()
    with pytest.raises(DocumentError, match="over the limit of 500 bytes"):
        small.read(pages[0].name)
    small.close()
    with pytest.raises(SourceUnavailable, match="over the limit of 1000 bytes"):
        ZipExport(path, limits=ZipLimits(max_total_bytes=1000)).pages()


def test_a_corrupt_zip_member_fails_alone(tmp_path: Path) -> None:
    """A member whose bytes no longer match its CRC fails with its name; others publish."""
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in sample().files().items():
            archive.writestr(f"DOC/{name}", data)
    blob = path.read_bytes()
    path.write_bytes(blob.replace(b"How to do things.", b"How to do THINGS."))
    with make_connector(path) as connector:
        refs = {ref.id: ref for ref in connector.list()}
        with pytest.raises(DocumentError, match=r"Guide_200\.html: cannot be read"):
            connector.fetch(refs.pop("200"))
        assert all(connector.fetch(ref).body for ref in refs.values())


def test_title_keeps_colons_of_its_own(tmp_path: Path) -> None:
    """Only the exact space-name prefix is removed, even when the title or space has ' : '."""
    export = ExportBuilder(space_name="Team : Ops")
    export.add("1", "Runbook : Restore : Database")
    export.add("2", "Team : Ops")
    for index in (True, False):
        export.index = index
        path = export.write_folder(tmp_path / f"export-{index}")
        with make_connector(path) as connector:
            titles = {ref_id: doc.title for ref_id, doc in fetch_all(connector).items()}
        assert titles == {"1": "Runbook : Restore : Database", "2": "Team : Ops"}


def test_title_falls_back_to_the_index_when_the_header_names_another_space(
    tmp_path: Path,
) -> None:
    """A header prefixed with another space's name yields the title index.html lists."""
    export = ExportBuilder(space_name="Docs")
    export.add("1", "Home")
    export.add("2", "Guide", parents=["1"])
    page = export.page_html(export.pages[0]).replace("Docs : Home", "Old Name : Old Home")
    export.pages[0].raw = page.encode()
    with make_connector(export.write_folder(tmp_path / "export")) as connector:
        assert fetch_all(connector)["1"].title == "Home"


def test_ancestors_are_metadata_and_a_trail_atop_the_body(tmp_path: Path) -> None:
    """Breadcrumbs give the ancestors (root first) and a trail of space, parents and page."""
    with make_connector(sample().write_folder(tmp_path / "export")) as connector:
        documents = fetch_all(connector)
    deep = documents["300"]
    assert deep.metadata["ancestors"] == ["Home", "Guide"]
    assert deep.metadata["ancestor_ids"] == ["100", "200"]
    assert deep.metadata["parent_id"] == "200"
    assert deep.metadata["space_key"] == "DOC"
    assert deep.metadata["space_name"] == "Docs"
    assert deep.body.startswith("<p>Docs \u203a Home \u203a Guide \u203a CI/CD</p>")
    assert documents["100"].metadata["ancestors"] == []
    assert documents["100"].body.startswith("<p>Docs \u203a Home</p>")


def test_urls_follow_the_template_and_base_url(tmp_path: Path) -> None:
    """Page URLs default to viewpage.action on the source URL; options override both."""
    path = sample().write_folder(tmp_path / "export")
    with make_connector(path) as connector:
        assert fetch_all(connector)["200"].url == f"{SITE}/pages/viewpage.action?pageId=200"
    custom = {"base_url": "https://kb.example.org/wiki/", "page_url_template": "{base_url}/x/{id}"}
    with make_connector(path, **custom) as connector:
        document = fetch_all(connector)["100"]
    assert document.url == "https://kb.example.org/wiki/x/100"
    assert 'href="https://kb.example.org/wiki/x/200"' in document.body


@pytest.mark.parametrize(
    "options",
    [
        {"page_url_template": "{base_url}/pages"},
        {"page_url_template": "{base_url}/{space}/{id}"},
        {"base_url": "wiki.example.com"},
        {"path": "x", "unknown": 1},
    ],
)
def test_bad_options_are_refused(options: dict[str, object]) -> None:
    """A template without {id}, an unknown field, a relative base URL or unknown key fails."""
    with pytest.raises(pydantic.ValidationError):
        ConfluenceExportOptions.model_validate({"path": "x", **options})


def test_relative_path_resolves_against_the_config_folder(tmp_path: Path) -> None:
    """from_config resolves a relative path against the configuration file's folder."""
    sample().write_zip(tmp_path / "space.zip")
    source = SourceInfo(name="wiki", url=SITE)
    connector = ConfluenceExportConnector.from_config(
        {"path": "space.zip"}, source=source, base_dir=tmp_path
    )
    with connector:
        assert len(list(connector.list())) == 3


def test_damaged_export_publishes_what_it_can(tmp_path: Path) -> None:
    """Unclosed tags publish; a page without a body and a vanished page fail alone, named."""
    export = sample()
    export.missing_in_index = [("not-found.html", "Not Found"), ("Gone_999.html", "Gone")]
    export.add("400", "Unclosed", "<p>one<p>two<div><b>bold<ul><li>item", parents=["100"])
    export.add("500", "Broken", raw=b"<html><body><p>no main content</body></html>")
    export.add("600", "Vanishing")
    path = export.write_folder(tmp_path / "export")
    with make_connector(path) as connector:
        refs = {ref.id: ref for ref in connector.list()}
        (path / "Vanishing_600.html").unlink()
        with pytest.raises(DocumentError, match=r"Broken_500\.html: no #main-content"):
            connector.fetch(refs.pop("500"))
        with pytest.raises(DocumentError, match=r"Vanishing_600\.html: no longer in the export"):
            connector.fetch(refs.pop("600"))
        documents = {ref_id: connector.fetch(ref) for ref_id, ref in refs.items()}
    assert sorted(documents) == ["100", "200", "300", "400"]
    assert "<b>bold" in documents["400"].body
    assert "item" in documents["400"].body


def test_export_without_index_takes_the_space_name_from_breadcrumbs(tmp_path: Path) -> None:
    """Without index.html titles and the trail still use the space name."""
    export = sample()
    export.index = False
    with make_connector(export.write_zip(tmp_path / "x.zip")) as connector:
        document = fetch_all(connector)["200"]
    assert document.title == "Guide"
    assert document.metadata["space_name"] == "Docs"
    assert document.body.startswith("<p>Docs \u203a Home \u203a Guide</p>")


def test_bad_bytes_and_unknown_refs(tmp_path: Path) -> None:
    """Invalid UTF-8 still publishes; a ref with no page file fails naming the page id."""
    export = sample()
    export.add("400", "Latin", "<p>caf\u00e9</p>")
    path = export.write_folder(tmp_path / "export")
    page = path / "Latin_400.html"
    page.write_bytes(page.read_bytes().replace("caf\u00e9".encode(), b"caf\xe9"))
    with make_connector(path) as connector:
        refs = {ref.id: ref for ref in connector.list()}
        assert "caf\ufffd" in connector.fetch(refs["400"]).body
        with pytest.raises(DocumentError, match="page 777"):
            connector.fetch(type(refs["400"])(id="777", version="x"))


def test_macos_shadow_files_are_not_pages(tmp_path: Path) -> None:
    """AppleDouble files (._Page_1.html) and a __MACOSX folder neither list nor hide pages."""
    junk = b"\x00\x05\x16\x07 AppleDouble"
    extra = {"DOC/._Home_100.html": junk, "__MACOSX/DOC/._Guide_200.html": junk}
    path = sample().write_zip(tmp_path / "x.zip", extra=extra)
    with make_connector(path) as connector:
        documents = fetch_all(connector)
    assert sorted(documents) == ["100", "200", "300"]
    assert documents["100"].metadata["file"] == "Home_100.html"


def test_a_page_without_any_title_fails_alone(tmp_path: Path) -> None:
    """A page whose header, <title> and index entry are all missing fails, naming its file."""
    export = sample()
    export.index = False
    export.add("400", "Untitled")
    untitled = export.page_html(export.pages[-1])
    untitled = untitled.replace("<title>Docs : Untitled</title>", "")
    export.pages[-1].raw = untitled.replace(" Docs : Untitled ", "").encode()
    with make_connector(export.write_folder(tmp_path / "export")) as connector:
        refs = {ref.id: ref for ref in connector.list()}
        with pytest.raises(DocumentError, match=r"Untitled_400\.html: the page has no title"):
            connector.fetch(refs.pop("400"))
        assert sorted(connector.fetch(ref).title for ref in refs.values()) == [
            "CI/CD",
            "Guide",
            "Home",
        ]
