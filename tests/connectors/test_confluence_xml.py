"""The Confluence XML export (``entities.xml``): what is published, versions, damaged exports."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from syncd.connectors.base import (
    Connector,
    DocumentError,
    DocumentExcluded,
    SourceInfo,
    SourceUnavailable,
)
from syncd.connectors.confluence.connector import (
    ConfluenceExportConnector,
    ConfluenceExportOptions,
)
from syncd.connectors.confluence.xml_entities import CUT_MARK, _RunLimit
from tests.connectors.confluence_builder import ExportBuilder
from tests.connectors.confluence_xml_builder import XmlExportBuilder
from tests.connectors.contract import ConnectorContract
from tests.connectors.test_confluence import SITE, excluded_all, fetch_all, make_connector


def site() -> XmlExportBuilder:
    """Two spaces; current pages and blog posts beside every kind of content never published."""
    export = XmlExportBuilder()
    export.space("1", "ENG", "Engineering")
    export.space("2", "OPS", "Operations")
    export.space("3", "OLD", "Archived space", status="ARCHIVED")
    export.space("4", "~jdoe", "Jane's space")
    export.page("100", "Home", "<p>Welcome.</p>")
    export.page("200", "Guide", "<p>How to.</p>", parent="100", version=3)
    export.page("300", "Runbook", "<p>Restart it.</p>", space="2")
    export.page("400", "Release notes", "<p>We shipped.</p>", cls="BlogPost")
    # Never published: history, both kinds of draft, trash, archive, archived space, personal.
    export.page("201", "Guide", "<p>Old guide.</p>", parent="100", original="200", space=None)  # type: ignore[arg-type]
    export.page("202", "Guide", "<p>Unsaved edit.</p>", status="draft", original="200")
    export.page("500", "Never published", "<p>Draft.</p>", status="draft")
    export.page("600", "Trashed", "<p>Gone.</p>", status="deleted")
    export.page("700", "Archived", "<p>Old.</p>", status="archived")
    export.page("800", "In archived space", "<p>Old.</p>", space="3")
    export.page("900", "Notes to self", "<p>Private.</p>", space="4")
    export.page("401", "Release notes draft", "<p>Soon.</p>", cls="BlogPost", status="draft")
    export.extra.append(
        '<object class="Draft" package="com.atlassian.confluence.pages"><id name="id">950</id>'
        '<property name="title"><![CDATA[toto]]></property>'
        '<property name="draftSpaceKey"><![CDATA[ENG]]></property></object>'
    )
    return export


class TestXmlExportContract(ConnectorContract):
    """The connector keeps the contract over an XML export, zipped and unpacked."""

    fingerprint = True  # the exports that would be read
    changes = True  # a different export arriving

    @pytest.fixture(params=["zip", "folder"])
    def connector(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Connector]:
        if request.param == "zip":
            path = site().write_zip(tmp_path / "backup.zip")
        else:
            path = site().write_folder(tmp_path / "backup")
        with make_connector(path) as connector:
            yield connector


@pytest.mark.parametrize("kind", ["zip", "folder"])
def test_publishes_exactly_the_current_pages_and_blog_posts(kind: str, tmp_path: Path) -> None:
    """History, both draft kinds, trash, archived content and personal spaces are left out."""
    export = site()
    path = (
        export.write_zip(tmp_path / "b.zip")
        if kind == "zip"
        else export.write_folder(tmp_path / "b")
    )
    with make_connector(path) as connector:
        assert connector.format() == "xml"
        documents = fetch_all(connector)
    assert {ref_id: doc.title for ref_id, doc in documents.items()} == {
        "100": "Home",
        "200": "Guide",
        "300": "Runbook",
        "400": "Release notes",
    }
    assert "How to." in documents["200"].body and "Old guide" not in documents["200"].body
    assert documents["400"].metadata["content_type"] == "blogpost"
    assert documents["200"].url == f"{SITE}/pages/viewpage.action?pageId=200"


def test_spaces_option_chooses_spaces_and_names_personal_ones(tmp_path: Path) -> None:
    """`spaces` keeps only the named spaces, case-blind; a personal space is read when named.
    The other spaces' pages are listed and excluded as "space not selected", never gone."""
    path = site().write_zip(tmp_path / "b.zip")
    with make_connector(path, spaces=["ops", "~JDOE"]) as connector:
        assert sorted(fetch_all(connector)) == ["300", "900"]
        assert excluded_all(connector) == dict.fromkeys(["100", "200", "400"], "space not selected")


def test_space_export_drops_extraneous_spaces(tmp_path: Path) -> None:
    """A space export publishes only the space its descriptor names."""
    export = site()
    export.export_type, export.space_key = "space", "ENG"
    with make_connector(export.write_zip(tmp_path / "eng.zip")) as connector:
        assert sorted(ref.id for ref in connector.list()) == ["100", "200", "400"]


def test_trail_and_metadata_follow_the_parents(tmp_path: Path) -> None:
    """The body opens with space and ancestors; metadata lists the ancestors root first."""
    export = site()
    export.page("210", "Deep", "<p>Deep.</p>", parent="200")
    with make_connector(export.write_zip(tmp_path / "b.zip")) as connector:
        document = fetch_all(connector)["210"]
    assert document.body.startswith("<p>Engineering \u203a Home \u203a Guide \u203a Deep</p>")
    assert document.metadata["ancestors"] == ["Home", "Guide"]
    assert document.metadata["ancestor_ids"] == ["100", "200"]
    assert document.metadata["parent_id"] == "200"
    assert document.metadata["space_key"] == "ENG"


def test_version_changes_with_the_page_and_only_then(tmp_path: Path) -> None:
    """The version is the version number and date (and trail): unchanged pages keep theirs."""
    export = site()
    with make_connector(export.write_zip(tmp_path / "a.zip")) as connector:
        before = {ref.id: ref.version for ref in connector.list()}
    export.pages[1].version, export.pages[1].modified = 4, "2024-05-02 09:00:00.000"
    export.pages[0].body = "<p>Body edited without a new version.</p>"  # not how Confluence works
    with make_connector(export.write_zip(tmp_path / "b.zip")) as connector:
        after = {ref.id: ref.version for ref in connector.list()}
    assert after["200"] != before["200"]
    assert after["300"] == before["300"] and after["400"] == before["400"]
    assert after["100"] == before["100"]  # listing reads metadata only


def test_renaming_a_parent_changes_its_childrens_versions(tmp_path: Path) -> None:
    """A child's trail shows its parent's title, so renaming the parent re-versions the child."""
    export = site()
    with make_connector(export.write_zip(tmp_path / "a.zip")) as connector:
        before = {ref.id: ref.version for ref in connector.list()}
    export.pages[0].title = "Start"
    with make_connector(export.write_zip(tmp_path / "b.zip")) as connector:
        after = {ref.id: ref.version for ref in connector.list()}
    assert after["200"] != before["200"]


def test_html_and_xml_exports_of_a_space_share_ids(tmp_path: Path) -> None:
    """Moving a space from HTML to XML exports keeps each page's ref id (its page id)."""
    html = ExportBuilder(space_key="ENG", space_name="Engineering")
    html.add("100", "Home")
    html.add("200", "Guide", parents=["100"])
    xml = XmlExportBuilder(export_type="space", space_key="ENG")
    xml.space("1", "ENG", "Engineering")
    xml.page("100", "Home")
    xml.page("200", "Guide", parent="100")
    with make_connector(html.write_zip(tmp_path / "eng.html.zip")) as connector:
        assert connector.format() == "html"
        from_html = {ref.id: doc.title for ref, doc in _pairs(connector)}
    with make_connector(xml.write_zip(tmp_path / "eng.xml.zip")) as connector:
        from_xml = {ref.id: doc.title for ref, doc in _pairs(connector)}
    assert from_html == from_xml == {"100": "Home", "200": "Guide"}


def _pairs(connector: ConfluenceExportConnector) -> list[tuple[object, object]]:
    return [(ref, connector.fetch(ref)) for ref in connector.list()]


def test_bodies_linked_by_collection_only_are_found(tmp_path: Path) -> None:
    """A body listed in the page's bodyContents without a back-reference is the page's body."""
    export = XmlExportBuilder()
    export.space("1", "ENG", "Engineering")
    export.page("100", "Home", "<p>By collection.</p>", link_body_by="collection")
    export.page("200", "Other", "<p>By both.</p>", link_body_by="both")
    with make_connector(export.write_zip(tmp_path / "b.zip")) as connector:
        documents = fetch_all(connector)
    assert "By collection." in documents["100"].body
    assert "By both." in documents["200"].body


def test_page_without_body_is_excluded_as_empty(tmp_path: Path) -> None:
    """A current page whose only body belongs to its draft is listed and excluded: empty (its
    trail alone would be a page of breadcrumbs)."""
    export = XmlExportBuilder()
    export.space("1", "ENG", "Engineering")
    export.page("100", "Home", None)
    export.page("101", "Home", "<p>Draft text.</p>", status="draft", original="100")
    export.page("200", "Other")
    with make_connector(export.write_zip(tmp_path / "b.zip")) as connector:
        assert "100" in {ref.id for ref in connector.list()}
        assert excluded_all(connector) == {"100": "empty"}
        assert "100" not in fetch_all(connector)


def test_wiki_markup_bodies_are_converted_readably(tmp_path: Path) -> None:
    """Confluence 3 wiki markup (no bodyType) becomes HTML, never published as raw markup."""
    export = XmlExportBuilder()
    export.space("1", "TD", "Test demo")
    markup = (
        "h4. Project: Test demo\n"
        "|| JIRA Link || Status ||\n"
        "| [TICKET-1|http://tracker.example.com/TICKET-1] | Open |\n"
        "* *bold* item\n"
        "{code:java}\nint x = 1 < 2;\n{code}\n"
        "{recently-updated}\n"
        "See {{monospace}} and _italic_."
    )
    export.page("100", "Home", markup, body_type=None)
    export.page("200", "Other", "h1. Title", body_type="0")
    with make_connector(export.write_zip(tmp_path / "b.zip")) as connector:
        documents = fetch_all(connector)
    body = documents["100"].body
    assert "<h4>Project: Test demo</h4>" in body
    assert "<th>JIRA Link</th><th>Status</th>" in body
    assert '<a href="http://tracker.example.com/TICKET-1">TICKET-1</a>' in body
    assert "<strong>bold</strong>" in body and "<em>italic</em>" in body
    assert "<pre><code>int x = 1 &lt; 2;</code></pre>" in body
    for raw in ("h4.", "||", "{code", "{recently-updated}", "[TICKET-1|", "{{"):
        assert raw not in body
    assert "<h1>Title</h1>" in documents["200"].body


def test_unknown_body_type_fails_alone(tmp_path: Path) -> None:
    """A body that is neither storage format nor wiki markup fails its page, naming it."""
    export = XmlExportBuilder()
    export.space("1", "ENG", "Engineering")
    export.page("100", "Odd", "v2", body_type="1")
    export.page("200", "Fine")
    with make_connector(export.write_zip(tmp_path / "b.zip")) as connector:
        refs = {ref.id: ref for ref in connector.list()}
        with pytest.raises(DocumentError, match=r"page 100 'Odd'.*bodyType 1"):
            connector.fetch(refs["100"])
        assert "Some text." in connector.fetch(refs["200"]).body


def test_malformed_body_fails_alone(tmp_path: Path) -> None:
    """A body that is not well-formed even after repairs fails its page with a clear message."""
    export = XmlExportBuilder()
    export.space("1", "ENG", "Engineering")
    export.page("100", "Broken", "<p>never closed <strong>here</p>")
    export.page("200", "Fine")
    with make_connector(export.write_zip(tmp_path / "b.zip")) as connector:
        refs = {ref.id: ref for ref in connector.list()}
        with pytest.raises(DocumentError, match=r"page 100 'Broken'.*not well-formed"):
            connector.fetch(refs["100"])
        assert connector.fetch(refs["200"]).title == "Fine"


def test_control_characters_in_the_export_are_dropped(tmp_path: Path) -> None:
    """C0 control bytes (illegal in XML 1.0, seen in real exports) do not stop the reading."""
    export = XmlExportBuilder()
    export.space("1", "ENG", "Engineering")
    export.page("100", "Tab\x08le", "<p>a\x02b</p>")
    export.page("200", "Other")
    with make_connector(export.write_zip(tmp_path / "b.zip")) as connector:
        documents = fetch_all(connector)
    assert documents["100"].title == "Table"
    assert "<p>ab</p>" in documents["100"].body


def test_truncated_entities_file_stops_the_listing(tmp_path: Path) -> None:
    """An entities.xml cut short (a half-copied export) is SourceUnavailable, never a short list."""
    data = site().entities().encode()
    path = site().write_folder(tmp_path / "b", entities=data[: len(data) // 2])
    with (
        make_connector(path) as connector,
        pytest.raises(SourceUnavailable, match=r"entities\.xml"),
    ):
        list(connector.list())


def test_a_zip_without_entities_is_read_as_html(tmp_path: Path) -> None:
    """A zip is an XML export only when it holds entities.xml; other zips stay HTML exports."""
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with make_connector(path) as connector:
        assert connector.format() == "html"
        with pytest.raises(SourceUnavailable):
            list(connector.list())


def test_html_export_outside_the_chosen_spaces_is_refused(tmp_path: Path) -> None:
    """`spaces` that leaves out the one space of an HTML export stops the run: nothing deleted."""
    html = ExportBuilder(space_key="ENG", space_name="Engineering")
    html.add("100", "Home")
    refused = make_connector(html.write_zip(tmp_path / "eng.zip"), spaces=["OPS"])
    with refused, pytest.raises(SourceUnavailable, match="space ENG"):
        list(refused.list())
    with make_connector(html.write_zip(tmp_path / "eng2.zip"), spaces=["eng"]) as connector:
        assert [ref.id for ref in connector.list()] == ["100"]


def test_attachments_list_option_links_current_attachments(tmp_path: Path) -> None:
    """include_attachments_list ends the page with its current attachments, linked to the site."""
    export = XmlExportBuilder()
    export.space("1", "ENG", "Engineering")
    export.page("100", "Home")
    export.page("200", "Other")
    export.attachment("11", "100", "plan v2.pdf")
    export.attachment("12", "100", "old.pdf", status="deleted")
    with make_connector(export.write_zip(tmp_path / "b.zip"), include_attachments_list=True) as c:
        body = fetch_all(c)["100"].body
    assert f'<a href="{SITE}/download/attachments/100/plan%20v2.pdf">plan v2.pdf</a>' in body
    assert "old.pdf" not in body


def test_view_restricted_pages_and_their_descendants_are_left_out(tmp_path: Path) -> None:
    """A view restriction hides the page and its subtree unless restricted_pages: publish."""
    export = site()
    export.page("210", "Salaries", "<p>Secret.</p>", parent="200")
    export.page("220", "Salary bands", "<p>Secret too.</p>", parent="210")
    export.page("230", "Edit-restricted", "<p>Readable.</p>", parent="200")
    export.page("240", "Emptied restriction", "<p>Readable.</p>", parent="200")
    export.restrict("71", "210")
    export.restrict("72", "230", kind="Edit")
    export.restrict("73", "240", empty=True)
    path = export.write_zip(tmp_path / "b.zip")
    with make_connector(path) as connector:
        documents = fetch_all(connector)
        # Listed, then excluded by name: never left out without a word.
        refused = {ref.id: ref for ref in connector.list() if ref.id in ("210", "220")}
        assert excluded_all(connector) == {"210": "restricted", "220": "restricted"}
        with pytest.raises(DocumentExcluded, match=r"page 210 'Salaries': view-restricted"):
            connector.fetch(refused["210"])
    assert sorted(documents) == ["100", "200", "230", "240", "300", "400"]
    assert all("Secret" not in doc.body for doc in documents.values())
    with make_connector(path, restricted_pages="publish") as connector:
        assert {"210", "220"} <= {ref.id for ref in connector.list()}


def test_export_rewritten_between_listing_and_fetching_fails_the_fetch(tmp_path: Path) -> None:
    """A backup replaced under its name after the listing fails fetches; no page comes out empty."""
    export = site()
    path = export.write_zip(tmp_path / "backup.zip")
    with make_connector(path) as connector:
        refs = {ref.id: ref for ref in connector.list()}
        export.pages[0].body = "<p>Rewritten.</p>"
        export.write_zip(path)
        os.utime(path, ns=(0, path.stat().st_mtime_ns + 10**9))
        with pytest.raises(DocumentError, match=r"backup\.zip changed after it was listed"):
            connector.fetch(refs["100"])


def test_a_named_space_no_export_holds_stops_the_run(tmp_path: Path) -> None:
    """`spaces` naming a space the export lacks deletes nothing unless missing_spaces: delete."""
    path = site().write_zip(tmp_path / "b.zip")
    refused = make_connector(path, spaces=["ENG", "HR"])
    with refused, pytest.raises(SourceUnavailable, match=r"space\(s\) HR named in `spaces`"):
        list(refused.list())
    with make_connector(path, spaces=["ENG", "HR"], missing_spaces="delete") as connector:
        assert sorted(fetch_all(connector)) == ["100", "200", "400"]
        assert excluded_all(connector) == {"300": "space not selected"}


def test_bodies_are_kept_in_the_sources_cache_folder(tmp_path: Path) -> None:
    """Pass 2's temporary copy goes under the source's cache folder; if it cannot, pages fail."""
    path = site().write_zip(tmp_path / "b.zip")
    options = ConfluenceExportOptions.model_validate({"path": path})
    cache = tmp_path / "state" / "cache" / "wiki"
    source = SourceInfo(name="wiki", url=SITE, cache_dir=cache)
    with ConfluenceExportConnector(options, source=source) as connector:
        assert "Welcome." in fetch_all(connector)["100"].body
    assert cache.is_dir()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    source = SourceInfo(name="wiki", url=SITE, cache_dir=blocked)
    with ConfluenceExportConnector(options, source=source) as connector:
        refs = list(connector.list())
        for ref in refs[:2]:
            with pytest.raises(DocumentError, match="temporary file"):
                connector.fetch(ref)


@pytest.mark.parametrize("chunk", [1, 2, 3, 8, 9, 10, 64, 1 << 20])
def test_long_runs_are_cut_while_streaming_whatever_the_chunk_size(chunk: int) -> None:
    """Runs of character data past the limit end with the cut mark, the rest dropped; shorter
    runs, CDATA split by Confluence, entities and UTF-8 pass unchanged at any chunk boundary."""
    short = (
        '<o><p name="t"><![CDATA[a <b> ]]]]><![CDATA[> c]]></p><p>x &amp; \xc3\xa9</p></o>'
    ).encode("latin-1")
    long_cdata = b'<o><p name="body"><![CDATA[' + "é".encode() * 40 + b"]]></p><p>next</p></o>"
    long_text = b"<o><p>" + b"&amp;" * 30 + b"</p><p>next</p></o>"

    def through(data: bytes, limit: int) -> bytes:
        runs = _RunLimit(limit)
        out = b"".join(runs.feed(data[i : i + chunk]) for i in range(0, len(data), chunk))
        return out + runs.feed(b"", final=True)

    assert through(short, 1000) == short
    mark = CUT_MARK.encode()
    cut = through(long_cdata, 50)
    assert cut.endswith(mark + b"]]></p><p>next</p></o>")
    assert cut.startswith(b'<o><p name="body"><![CDATA[\xc3\xa9')
    assert etree.fromstring(cut).findtext("p").endswith(CUT_MARK)  # still well-formed
    cut = through(long_text, 40)
    assert etree.fromstring(cut).findtext("p").endswith(CUT_MARK)
