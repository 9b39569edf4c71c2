"""End to end: a live Confluence site's attachments kept in step with Intercom by ``syncd sync``.

The stand-in (Cloud and Data Center) holds pages with a PDF, a Word file and a picture made
here; one CQL query lists the files, downloads go through the REST API (on Cloud, redirected to
a media host that never sees the token), and a no-op run downloads nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from structlog.testing import capture_logs

from syncd.connectors.base import DocumentError, DocumentRef, DocumentTooLarge
from syncd.sandbox import SandboxServer, SandboxSettings
from tests import officefiles
from tests.confluence_server import TOKEN, StandIn
from tests.connectors.test_confluence_live import make
from tests.connectors.test_confluence_live_sync import published, sync, write_config

pytestmark = pytest.mark.slow
TYPES = {"types": ["pdf", "docx"]}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token="t")) as server:
        yield server


def _site(site: StandIn) -> dict[str, str]:
    """Pages and files of the tests: filler pages keep removals under the delete guard."""
    site.add_space("ds", "Docs")
    refunds = site.add_page("ds", "Refunds", "<p>How refunds work.</p>")
    guides = site.add_page("ds", "Guides", "<p>Guides.</p>")
    for number in range(6):
        site.add_page("ds", f"Filler {number}", f"<p>filler {number}</p>", parent=guides.id)
    pdf = site.attach(refunds.id, "refunds.pdf", officefiles.pdf_file(["Refunds within 30 days"]))
    docx = site.attach(guides.id, "guide.docx", officefiles.docx_file())
    site.attach(guides.id, "logo.png", b"\x89PNG\r\n\x1a\n")
    return {"refunds": refunds.id, "guides": guides.id, "pdf": pdf.id, "docx": docx.id}


def _key(att_id: str) -> str:
    return "attachment:" + att_id.removeprefix("att")


@pytest.mark.parametrize("deployment", ["cloud", "datacenter"])
def test_attachments_follow_the_site(
    deployment: str, tmp_path: Path, sandbox: SandboxServer
) -> None:
    with StandIn(deployment) as site:
        ids = _site(site)
        config = write_config(tmp_path, site, sandbox)
        raw = yaml.safe_load(config.read_text(encoding="utf-8"))
        raw["sources"][0]["options"]["attachments"] = TYPES
        config.write_text(yaml.safe_dump(raw), encoding="utf-8")

        sync(config)
        first = published(sandbox)
        pdf, docx = first[_key(ids["pdf"])], first[_key(ids["docx"])]
        assert len(first) == 8 + 2  # pages, and the PDF and Word file (not the picture)
        assert pdf["title"] == "Refunds: refunds.pdf"
        assert "Refunds within 30 days" in pdf["html"]
        assert pdf["url"] == f"{site.url}/download/attachments/{ids['refunds']}/refunds.pdf"
        assert docx["title"] == "Onboarding guide"
        # One CQL listing for every page's files (Data Center announces a page past the end)
        listed = [q["cql"] for _, q in site.requests if "attachment" in q.get("cql", "")]
        assert set(listed) == {'type = attachment and space in ("ds")'}
        assert len(listed) <= 2
        assert site.count("/child/attachment") == 2  # one download per file, no listing
        if deployment == "cloud":  # the media host got the file request, never the token
            assert site.media_auth == [None, None]

        # A no-op run downloads nothing and sends nothing but the source check.
        writes = sandbox.store.requests()
        site.requests.clear()
        sync(config)
        assert sandbox.store.requests() == writes + 1
        assert site.count("/download") + site.count("/media/") == 0

        # A replaced file is one update; the other file is not read again.
        site.replace_file(ids["pdf"], officefiles.pdf_file(["Refunds within 60 days now"]))
        site.requests.clear()
        before = len(sandbox.store.request_log)
        sync(config)
        second = published(sandbox)
        assert "60 days" in second[_key(ids["pdf"])]["html"]
        assert second[_key(ids["pdf"])]["id"] == pdf["id"]
        sent = [(m, path) for m, path, _ in sandbox.store.request_log[before:] if m != "GET"]
        assert sent == [("POST", "/ai/external_pages")]  # one upsert, same Intercom page
        assert site.count("/download") == 1

        # A file removed is one delete; a page removed takes its files along.
        del site.attachments[ids["docx"]]
        deletes = sandbox.store.requests(method="DELETE")
        sync(config)
        assert sandbox.store.requests(method="DELETE") == deletes + 1
        assert _key(ids["docx"]) not in published(sandbox)
        site.pages[ids["refunds"]].status = "trashed"
        sync(config)
        after = published(sandbox)
        assert ids["refunds"] not in after
        assert _key(ids["pdf"]) not in after
        assert len(after) == 7


def test_switching_attachments_off_is_a_mass_deletion_the_guard_stops(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    with StandIn("datacenter") as site:
        ids = _site(site)
        for number in range(3):
            site.attach(
                ids["guides"], f"extra-{number}.pdf", officefiles.pdf_file([f"Extra {number}"])
            )
        config = write_config(tmp_path, site, sandbox)
        raw = yaml.safe_load(config.read_text(encoding="utf-8"))
        raw["sources"][0]["options"]["attachments"] = TYPES
        config.write_text(yaml.safe_dump(raw), encoding="utf-8")
        sync(config)
        held = set(published(sandbox))
        assert len(held) == 8 + 5
        del raw["sources"][0]["options"]["attachments"]
        raw["sources"][0]["max_delete_fraction"] = 0.2
        config.write_text(yaml.safe_dump(raw), encoding="utf-8")
        sync(config, expect=4)
        assert set(published(sandbox)) == held
        sync(config, "--allow-mass-delete")
        assert set(published(sandbox)) == {key for key in held if not key.startswith("attachment:")}


@pytest.mark.parametrize("deployment", ["cloud", "datacenter"])
def test_restricted_pages_keep_their_files_out_and_big_files_fail_alone(
    deployment: str, tmp_path: Path
) -> None:
    with StandIn(deployment) as site:
        ids = _site(site)
        site.pages[ids["guides"]].restricted = True  # its Word file stays out with it
        big = site.attach(ids["refunds"], "big.pdf", officefiles.pdf_file(["x" * 200] * 40))
        connector = make(site, tmp_path, attachments={"types": ["pdf", "docx"], "max_bytes": 3000})
        refs = {ref.id: ref for ref in connector.list()}
        files = sorted(ref_id for ref_id in refs if ref_id.startswith("attachments/"))
        assert files == sorted(
            f"attachments/{ids['refunds']}/{att}" for att in (ids["pdf"], big.id)
        )
        assert refs[f"attachments/{ids['refunds']}/{ids['pdf']}"].version == "v1"
        with pytest.raises(DocumentTooLarge, match=r"big\.pdf.*max_bytes"):
            connector.fetch(refs[f"attachments/{ids['refunds']}/{big.id}"])
        document = connector.fetch(refs[f"attachments/{ids['refunds']}/{ids['pdf']}"])
        assert document.external_id == "attachment:" + ids["pdf"].removeprefix("att")
        connector.close()

        # Fetched by name without a listing (a webhook's run): the page's file list is asked.
        again = make(site, tmp_path, attachments=TYPES)
        named = DocumentRef(id=f"attachments/{ids['refunds']}/{ids['pdf']}", version="v1")
        assert "Refunds within 30 days" in again.fetch(named).body
        gone = DocumentRef(id=f"attachments/{ids['refunds']}/999", version="v1")
        with pytest.raises(DocumentError, match="not a current attachment"):
            again.fetch(gone)
        again.close()
        assert TOKEN not in repr(site.media_auth)


def test_a_refused_attachment_search_goes_on_page_by_page(tmp_path: Path) -> None:
    """Data Center answers the attachment search 400 past its first answer (a known fault):
    the listing goes on page by page, with a warning, and lists every file once."""
    with StandIn("datacenter") as site:
        ids = _site(site)
        more = [
            site.attach(ids["guides"], f"extra-{n}.pdf", officefiles.pdf_file([f"Extra {n}"])).id
            for n in range(3)
        ]
        site.cap = 2  # two results an answer: the search needs several

        def past_the_first(query: dict[str, str]) -> bool:
            return "attachment" in query.get("cql", "") and query.get("start", "0") != "0"

        site.fail("/rest/api/content/search", 400, when=past_the_first)
        with make(site, tmp_path, attachments=TYPES) as connector, capture_logs() as logs:
            files = [ref.id for ref in connector.list() if ref.id.startswith("attachments/")]
        assert sorted(files) == sorted(
            f"attachments/{page}/{att}"
            for page, att in [
                (ids["refunds"], ids["pdf"]),
                (ids["guides"], ids["docx"]),
                *((ids["guides"], att) for att in more),
            ]
        )
        refused = [e for e in logs if e["event"] == "confluence.attachment_search_refused"]
        assert len(refused) == 1 and refused[0]["log_level"] == "warning"
        assert "HTTP 400" in refused[0]["error"]
        assert site.count("/child/attachment") >= 2  # the pages asked one by one
