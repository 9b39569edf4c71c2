"""The ``confluence`` connector against the Confluence stand-in: listing, fetching, errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
from structlog.testing import capture_logs

from syncd.connectors.base import (
    Connector,
    DocumentError,
    DocumentExcluded,
    DocumentRef,
    DocumentTooLarge,
    InMemory,
    SourceInfo,
    SourceUnavailable,
)
from syncd.connectors.confluence.live import changes
from syncd.connectors.confluence.live.client import RetryPolicy
from syncd.connectors.confluence.live.connector import ConfluenceConnector
from syncd.connectors.confluence.live.options import ConfluenceOptions
from syncd.connectors.confluence.live.restrictions import SWEEP_EVERY, RestrictionCache
from tests.confluence_server import EMAIL, TOKEN, StandIn
from tests.connectors.contract import ConnectorContract

EXPORT = Path("confluence-xml-xwiki-contrib") / "5.9.zip"
MEMORIES: dict[Path, InMemory] = {}  # one connector memory per test, as the state keeps one
FAST = RetryPolicy(attempts=3, total_seconds=20, wait_initial=0.01, wait_max=0.05)


def make(
    stand_in: StandIn,
    tmp_path: Path,
    *,
    full_resync: bool = False,
    **options: Any,
) -> ConfluenceConnector:
    """A connector reading the stand-in as its bot account."""
    values: dict[str, Any] = {
        "site": stand_in.site,
        "deployment": stand_in.deployment,
        "spaces": ["ds"],
        "token": TOKEN,
        **options,
    }
    if stand_in.deployment == "cloud":
        values.setdefault("email", EMAIL)
    memory = MEMORIES.setdefault(tmp_path, InMemory())
    info = SourceInfo(
        name="wiki",
        url=stand_in.site,
        cache_dir=tmp_path / "cache",
        memory=memory,
        full_resync=full_resync,
    )
    return ConfluenceConnector(ConfluenceOptions.model_validate(values), source=info, retry=FAST)


@pytest.fixture(params=["cloud", "datacenter"])
def site(request: pytest.FixtureRequest, shared_fixtures: Path) -> Iterator[StandIn]:
    """The 5.9 export's space ``ds`` served as Cloud or as Data Center."""
    with StandIn(request.param) as stand_in:
        stand_in.seed(shared_fixtures / EXPORT)
        yield stand_in


class TestConfluenceContract(ConnectorContract):
    """The connector contract, on Cloud and Data Center."""

    lookup = True  # by page id
    changes = True  # pages modified since the cursor

    @pytest.fixture
    def connector(self, site: StandIn, tmp_path: Path) -> Iterator[Connector]:
        with make(site, tmp_path) as connector:
            yield connector


def test_listing_is_every_page_with_its_id_and_version(site: StandIn, tmp_path: Path) -> None:
    """Page ids as the export has them; versions carry Confluence's version number."""
    site.cap = 3  # a small silent cap: many answers per listing
    with make(site, tmp_path, page_size=5) as connector:
        refs = {ref.id: ref.version for ref in connector.list()}
    assert set(refs) == set(site.pages)
    assert "196614" in refs
    assert all(version.startswith("v1::") for version in refs.values())


def test_no_op_listing_reads_no_bodies(site: StandIn, tmp_path: Path) -> None:
    """A listing asks for ids and versions only; a handful of requests beyond the pages."""
    with make(site, tmp_path) as connector:
        list(connector.list())
        site.requests.clear()
        with make(site, tmp_path) as again:
            list(again.list())
    bodies = [
        q for _, q in site.requests if "body" in q.get("expand", "") + q.get("body-format", "")
    ]
    assert bodies == []
    # Who am I, the space, the listing of pages and of blog posts; Data Center announces a
    # next page after the last, and one empty answer ends the walk.
    assert len(site.requests) <= (4 if site.deployment == "cloud" else 5)


def test_fetch_renders_the_body_with_the_trail_and_the_site_url(
    site: StandIn, tmp_path: Path
) -> None:
    """The export's renderer; the URL is _links.base + _links.webui."""
    with make(site, tmp_path) as connector:
        refs = {ref.id: ref for ref in connector.list()}
        document = connector.fetch(refs["196615"])
    assert document.title == "What is Confluence? (step 1 of 9)"
    assert document.body.startswith(
        "<p>Demonstration Space \u203a Welcome to Confluence \u203a What is Confluence?"
    )
    assert (
        document.url == f"{site.url}/spaces/ds/pages/196615/What+is+Confluence%3F+%28step+1+of+9%29"
    )
    assert document.metadata["ancestor_ids"] == ["196614"]
    assert document.metadata["version"] == 1


def test_an_edit_changes_the_version_and_the_body(site: StandIn, tmp_path: Path) -> None:
    with make(site, tmp_path) as connector:
        before = {ref.id: ref.version for ref in connector.list()}
    site.edit("196615", "<p>Edited <strong>now</strong></p>")
    with make(site, tmp_path) as connector:
        after = {ref.id: ref for ref in connector.list()}
        assert after["196615"].version.startswith("v2::")
        assert before["196614"] == after["196614"].version
        assert "<strong>now</strong>" in connector.fetch(after["196615"]).body
        assert connector.describe_change(before["196615"], after["196615"].version) == (
            "Confluence version 1 -> 2"
        )


def test_a_body_nested_thousands_deep_fails_alone_naming_the_page(
    site: StandIn, tmp_path: Path
) -> None:
    """A storage body nested 20,000 elements deep is refused before it is converted (the
    converter recurses per element), with the page and the reason; the others render."""
    depth = 20_000
    site.edit("196615", "<div>" * depth + "deep" + "</div>" * depth)
    with make(site, tmp_path) as connector:
        refs = {ref.id: ref for ref in connector.list()}
        with pytest.raises(DocumentTooLarge) as refused:
            connector.fetch(refs["196615"])
        assert connector.fetch(refs["196614"]).body
    message = str(refused.value)
    assert "page 196615" in message and "more than 128 levels deep" in message


def test_moving_a_page_under_another_parent_changes_its_version(
    site: StandIn, tmp_path: Path
) -> None:
    """Confluence keeps the number on a move; the trail in the body changed, so fetch again."""
    with make(site, tmp_path) as connector:
        before = {ref.id: ref.version for ref in connector.list()}
    site.pages["196615"].parent_id = "196613"
    with make(site, tmp_path) as connector:
        after = {ref.id: ref.version for ref in connector.list()}
    assert after["196615"] != before["196615"]
    assert after["196615"].startswith("v1::")


def test_restricted_pages_and_their_descendants_are_left_out(site: StandIn, tmp_path: Path) -> None:
    """Restrictions inherit: the children of a restricted page are restricted too."""
    child = site.add_page("ds", "Child of step 2", parent="196612")
    with make(site, tmp_path) as connector:
        assert {"196612", child.id} <= {ref.id for ref in connector.list()}
    site.pages["196612"].restricted = True  # no new version: only a sweep can tell
    with make(site, tmp_path) as connector:
        assert {"196612", child.id} <= {ref.id for ref in connector.list()}  # swept a moment ago
    with make(site, tmp_path, full_resync=True) as connector:
        listed = {ref.id for ref in connector.list()}
    assert "196612" not in listed
    assert child.id not in listed
    assert "196615" in listed
    with make(site, tmp_path, restricted_pages="publish") as connector:
        assert "196612" in {ref.id for ref in connector.list()}


def test_a_page_fetched_with_a_restriction_is_excluded(site: StandIn, tmp_path: Path) -> None:
    """Between sweeps, each page read (new or edited) has its own restriction checked."""
    with make(site, tmp_path) as connector:
        list(connector.list())  # the first listing sweeps
    site.pages["196611"].restricted = True
    with make(site, tmp_path) as connector:
        refs = {ref.id: ref for ref in connector.list()}
        with pytest.raises(DocumentExcluded, match=r"196611.*view restriction"):
            connector.fetch(refs["196611"])


def test_a_space_that_lists_nothing_stops_the_run(site: StandIn, tmp_path: Path) -> None:
    for page in site.pages.values():
        page.invisible = True
    with make(site, tmp_path) as connector, pytest.raises(SourceUnavailable, match="ds lists no"):
        list(connector.list())


def test_a_missing_space_stops_the_run(site: StandIn, tmp_path: Path) -> None:
    connector = make(site, tmp_path, spaces=["ds", "NOPE"])
    with connector, pytest.raises(SourceUnavailable, match="no space NOPE"):
        list(connector.list())


def test_wrong_token_is_refused_naming_the_site_never_the_token(
    site: StandIn, tmp_path: Path
) -> None:
    """Cloud answers 401; Data Center serves an unknown PAT as anonymous: both stop the run."""
    connector = make(site, tmp_path, token="wrong-token-value")
    with connector, pytest.raises(SourceUnavailable) as caught:
        list(connector.list())
    message = str(caught.value)
    assert site.site in message
    assert "token" in message
    assert "wrong-token-value" not in message
    if site.deployment == "datacenter":
        assert "anonymous" in message
    assert site.count("/content") == 0  # nothing listed, nothing to delete from


def test_401_is_not_retried(site: StandIn, tmp_path: Path) -> None:
    site.fail("/user/current", 401, times=10)
    with make(site, tmp_path) as connector, pytest.raises(SourceUnavailable, match="HTTP 401"):
        list(connector.list())
    assert site.count("/user/current") == 1


def test_429_retry_after_is_honoured(site: StandIn, tmp_path: Path) -> None:
    site.fail("/user/current", 429, times=2, Retry_After="0")
    with make(site, tmp_path) as connector:
        assert len(list(connector.list())) == len(site.pages)
    assert site.count("/user/current") == 3


def test_an_absurd_retry_after_is_reported_not_slept(site: StandIn, tmp_path: Path) -> None:
    """Data Center's Long.MAX for a blocked user: a clear error at once."""
    site.fail("/user/current", 429, Retry_After="9223372036854775807")
    with make(site, tmp_path) as connector, pytest.raises(SourceUnavailable, match="forever"):
        list(connector.list())


def test_mentions_become_names_and_includes_resolve_through_the_api(
    site: StandIn, tmp_path: Path
) -> None:
    site.users["557058:ann"] = "Ann Example"
    site.add_page(
        "ds",
        "Shared",
        '<p>Shared text</p><ac:structured-macro ac:name="excerpt">'
        "<ac:rich-text-body><p>The excerpt</p></ac:rich-text-body></ac:structured-macro>",
    )
    host = site.add_page(
        "ds",
        "Host",
        '<p>Hi <ac:link><ri:user ri:account-id="557058:ann" ri:userkey="557058:ann"/></ac:link></p>'
        '<ac:structured-macro ac:name="include"><ac:parameter ac:name="">'
        '<ac:link><ri:page ri:content-title="Shared"/></ac:link></ac:parameter>'
        "</ac:structured-macro>"
        '<ac:structured-macro ac:name="excerpt-include"><ac:parameter ac:name="">'
        '<ac:link><ri:page ri:content-title="Shared"/></ac:link></ac:parameter>'
        "</ac:structured-macro>"
        '<ac:structured-macro ac:name="include"><ac:parameter ac:name="">'
        '<ac:link><ri:page ri:content-title="Host"/></ac:link></ac:parameter>'
        "</ac:structured-macro>",
    )
    with make(site, tmp_path) as connector:
        body = connector.fetch(DocumentRef(host.id, "v1")).body
    assert "Hi Ann Example" in body
    assert body.count("Shared text") == 1
    assert body.count("The excerpt") == 2  # included page and excerpt-include


def test_children_macro_lists_the_page_tree(site: StandIn, tmp_path: Path) -> None:
    site.pages["196614"].body = '<p>Start</p><ac:structured-macro ac:name="children"/>'
    with make(site, tmp_path) as connector:
        refs = {ref.id: ref for ref in connector.list()}
        body = connector.fetch(refs["196614"]).body
    assert body.count("<li>") == 10
    assert f'href="{site.url}/spaces/ds/pages/196613/' in body
    with make(site, tmp_path) as connector:  # no listing: the tree comes from CQL
        assert connector.fetch(DocumentRef("196614", "v1")).body.count("<li>") == 10


def test_lookup_gives_the_listing_versions_and_drops_restricted_pages(
    site: StandIn, tmp_path: Path
) -> None:
    with make(site, tmp_path) as connector:
        listed = {ref.id: ref.version for ref in connector.list()}
    site.pages["196614"].restricted = True
    with make(site, tmp_path) as connector:
        found = {ref.id: ref.version for ref in connector.lookup(["196611", "196615", "42"])}
    assert found == {}  # both sit under the newly restricted home page
    site.pages["196614"].restricted = False
    with make(site, tmp_path) as connector:
        found = {ref.id: ref.version for ref in connector.lookup(["196611", "196615", "42"])}
    assert found == {"196611": listed["196611"], "196615": listed["196615"]}


def test_the_token_is_not_logged(site: StandIn, tmp_path: Path) -> None:
    site.fail("/user/current", 503, times=1)
    with capture_logs() as logs, make(site, tmp_path) as connector:
        refs = list(connector.list())
        connector.fetch(refs[0])
    assert TOKEN not in repr(logs)
    assert TOKEN not in repr(MEMORIES[tmp_path].values)
    assert MEMORIES[tmp_path].values  # the sweep was kept


def test_options_refuse_a_token_over_plain_http_and_cloud_without_email() -> None:
    """A token to a non-loopback http:// site needs the source's allow_insecure_http."""
    base = {"spaces": ["ENG"], "token": "x", "deployment": "datacenter"}
    with pytest.raises(pydantic.ValidationError, match="unencrypted over http"):
        ConfluenceOptions.model_validate({**base, "site": "http://wiki.example.com"})
    allowed = {"allow_insecure_http": True}
    ConfluenceOptions.model_validate({**base, "site": "http://wiki.example.com"}, context=allowed)
    ConfluenceOptions.model_validate({**base, "site": "http://127.0.0.1:8090/confluence"})
    cloud = {"spaces": ["ENG"], "token": "x", "site": "https://acme.atlassian.net/wiki"}
    assert ConfluenceOptions.model_validate({**cloud, "email": "a@b.c"}).kind == "cloud"
    with pytest.raises(pydantic.ValidationError, match="needs `email`"):
        ConfluenceOptions.model_validate(cloud)
    with pytest.raises(pydantic.ValidationError, match=r"atlassian\.net/wiki"):
        ConfluenceOptions.model_validate(
            {**cloud, "email": "a@b.c", "site": "https://acme.atlassian.net"}
        )
    with pytest.raises(pydantic.ValidationError, match="at least one space"):
        ConfluenceOptions.model_validate({**cloud, "email": "a@b.c", "spaces": [" "]})


def test_the_poll_names_edits_once_and_widens_an_unknown_zone(
    site: StandIn, tmp_path: Path
) -> None:
    """Overlapping windows find an edit again; only a new version counts as changed."""
    api = make(site, tmp_path)._api
    zone = changes.zone_of(site.time_zone)
    assert zone is not None
    first = changes.poll(api, None, spaces=["ds"], kinds=["page"], zone=zone)
    assert not first.changes
    site.edit("196615", "<p>new</p>")
    second = changes.poll(api, first.cursor, spaces=["ds"], kinds=["page"], zone=zone)
    assert second.changes.changed == {"196615"}
    third = changes.poll(api, second.cursor, spaces=["ds"], kinds=["page"], zone=zone)
    assert not third.changes  # found again by the overlap, same version
    site.requests.clear()
    changes.poll(api, third.cursor, spaces=["ds"], kinds=["page"], zone=None)
    asked = site.requests[-1][1]["cql"]
    # The site's clock is Berlin's; without a zone the window opens a day and more earlier.
    assert 'space in ("ds") and type in (page) and lastmodified >= "' in asked
    assert changes.zone_of("Not/AZone") is None


def test_a_token_refused_mid_run_fails_the_rest_without_asking(
    site: StandIn, tmp_path: Path
) -> None:
    """Cloud's 401, or Data Center's anonymous answer, during fetches: that page and every later
    one fail, named; one or two requests spent, not one per page."""
    why = "HTTP 401" if site.deployment == "cloud" else "anonymous"
    with make(site, tmp_path) as connector:
        refs = list(connector.list())
        site.token = "revoked"
        site.requests.clear()
        for ref in refs[:5]:
            with pytest.raises(DocumentError, match=rf"page {ref.id}: .*{why}"):
                connector.fetch(ref)
    assert len(site.requests) <= 2


def test_restrictions_are_swept_again_after_a_day(tmp_path: Path) -> None:
    memory = InMemory()
    cache = RestrictionCache(memory, "https://wiki.example.com")
    assert cache.due(full_resync=False)
    cache.swept({"1", "2"})
    again = RestrictionCache(memory, "https://wiki.example.com")
    assert again.own == {"1", "2"}
    assert not again.due(full_resync=False)
    assert again.due(full_resync=True)
    assert again.due(full_resync=False, now=time.time() + SWEEP_EVERY + 1)
    assert RestrictionCache(memory, "https://other.example.com").due(full_resync=False)


def test_lookup_asks_directly_for_what_the_search_index_lacks(
    site: StandIn, tmp_path: Path
) -> None:
    """A page created a moment ago may not be searchable yet: looked up and fetched by id."""
    fresh = site.add_page("ds", "Just created", "<p>Hot off the press.</p>", parent="196614")
    site.unindexed.add(fresh.id)
    with make(site, tmp_path) as connector:
        refs = connector.lookup([fresh.id, "196615"])
        assert {ref.id for ref in refs} == {fresh.id, "196615"}
        document = connector.fetch(next(ref for ref in refs if ref.id == fresh.id))
    assert "Hot off the press" in document.body
    site.pages[fresh.id].status = "trashed"
    with make(site, tmp_path) as connector:
        assert [ref.id for ref in connector.lookup([fresh.id])] == []
