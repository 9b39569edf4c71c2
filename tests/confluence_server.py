"""A Confluence stand-in on 127.0.0.1: Cloud (REST v2 + v1 CQL/restrictions) or Data Center (v1).

It speaks the shapes of the public reference (Atlassian's OpenAPI descriptions and recorded
answers): v2 cursor paging with ``_links.next`` relative to the site root (``/wiki/...``),
v1 offset paging with next links relative to ``_links.base``, CQL over ``content/search``,
``restriction/byOperation/read``, ``user/current``. It is seeded from a real XML export
through the export connector's own reader, and the tests change it (edit, trash, move,
restrict) while the connector reads it.

The traps it reproduces, each switchable:

* Cloud cursors are opaque and bound to the ``limit`` they were made with (a walk that changes
  ``limit`` mid-way gets HTTP 400);
* Data Center caps ``limit`` silently (:attr:`StandIn.cap`), under-counts the ``start`` of its
  next links, and announces a next page after the last one;
* a wrong or missing Data Center token is served as *anonymous* (CONFSERVER-98199): 200 with
  nothing readable; on Cloud it is a 401;
* :meth:`StandIn.fail` queues answers (429 with a ``Retry-After``, 503, 401) for the next
  requests whose path contains a given text.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit
from zoneinfo import ZoneInfo

from syncd.connectors.confluence.xml_bodies import BodyStore
from syncd.connectors.confluence.xml_entities import find_entities
from syncd.connectors.confluence.xml_index import STORAGE, build_index

EMAIL = "bot@example.com"
TOKEN = "cfl-token-0123456789-SECRET"
BOT_ACCOUNT = "712020:bot"


@dataclasses.dataclass
class Page:
    """One page or blog post of the stand-in."""

    id: str
    kind: str
    title: str
    space_key: str
    parent_id: str | None
    body: str
    number: int = 1
    modified: dt.datetime = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.UTC))
    status: str = "current"
    restricted: bool = False  # carries its own read restriction (the bot is allowed)
    invisible: bool = False  # restricted so that the bot may not see it at all
    position: int | None = None


@dataclasses.dataclass
class Attachment:
    """One file attached to a page: ``att<n>`` on Cloud, ``<n>`` on Data Center."""

    id: str
    page_id: str
    name: str
    data: bytes
    number: int = 1
    modified: dt.datetime = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclasses.dataclass
class SpaceRec:
    """A space: numeric id (Cloud), key and name."""

    id: str
    key: str
    name: str


class StandIn:
    """The site's content, and the knobs of the module docstring."""

    def __init__(self, deployment: str = "cloud", *, time_zone: str = "Europe/Berlin") -> None:
        self.deployment = deployment
        self.prefix = "/wiki" if deployment == "cloud" else "/confluence"
        self.time_zone = time_zone
        self.spaces: dict[str, SpaceRec] = {}
        self.pages: dict[str, Page] = {}
        self.attachments: dict[str, Attachment] = {}
        self.media_auth: list[str | None] = []  # Authorization headers the media host saw
        self.users: dict[str, str] = {BOT_ACCOUNT: "Sync Bot"}
        self.cap = 1000  # the most results one listing answer holds, whatever `limit` says
        self.unindexed: set[str] = set()  # pages the search index (CQL) has not caught up with
        self.token = TOKEN
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.RLock()
        # (path part, status, headers, which queries): the next answers to fail.
        self._failures: list[
            tuple[str, int, dict[str, str], Callable[[dict[str, str]], bool] | None]
        ] = []
        self._cursors: dict[str, tuple[int, str]] = {}
        self._next_id = 900000
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # -- content -----------------------------------------------------------------------------

    def add_space(self, key: str, name: str) -> SpaceRec:
        space = SpaceRec(str(10000 + len(self.spaces)), key, name)
        self.spaces[key] = space
        return space

    def add_page(
        self,
        space: str,
        title: str,
        body: str = "<p>text</p>",
        *,
        parent: str | None = None,
        kind: str = "page",
        page_id: str | None = None,
    ) -> Page:
        with self.lock:
            self._next_id += 1
            page = Page(page_id or str(self._next_id), kind, title, space, parent, body)
            self.pages[page.id] = page
            return page

    def edit(self, page_id: str, body: str | None = None, *, title: str | None = None) -> None:
        with self.lock:
            page = self.pages[page_id]
            page.body = body if body is not None else page.body
            page.title = title or page.title
            page.number += 1
            page.modified = dt.datetime.now(dt.UTC)

    def attach(self, page_id: str, name: str, data: bytes) -> Attachment:
        """A new file on a page; Cloud serves its download through the media host."""
        with self.lock:
            self._next_id += 1
            number = str(self._next_id)
            att_id = f"att{number}" if self.deployment == "cloud" else number
            self.attachments[att_id] = Attachment(att_id, page_id, name, data)
            return self.attachments[att_id]

    def replace_file(self, att_id: str, data: bytes) -> None:
        """A new version of an attached file."""
        with self.lock:
            attached = self.attachments[att_id]
            attached.data, attached.number = data, attached.number + 1
            attached.modified = dt.datetime.now(dt.UTC)

    def seed(self, export: Path, *, space_key: str | None = None) -> list[str]:
        """Load an XML export's current storage-format pages; their ids."""
        source = find_entities(export)
        assert source is not None, export
        index = build_index(source, spaces=None, skip_restricted=False)
        store = BodyStore(source, index.bodies.values())
        try:
            for space in index.spaces.values():
                self.add_space(space_key or space.key, space.name)
            added = []
            for page in index.pages.values():
                body_id = index.bodies.get(page.id)
                body = store.get(body_id) if body_id else None
                if body is None or body.body_type != STORAGE:
                    continue
                space = index.space_of(page)
                modified = dt.datetime.fromisoformat(page.modified).replace(tzinfo=dt.UTC)
                self.pages[page.id] = Page(
                    page.id, page.kind, page.title, space_key or space.key, page.parent_id,
                    body.text, int(page.version or 1), modified,
                )  # fmt: skip
                added.append(page.id)
            self.users.update(index.users)
            return added
        finally:
            store.close()

    def fail(
        self,
        path_part: str,
        status: int,
        times: int = 1,
        *,
        when: Callable[[dict[str, str]], bool] | None = None,
        **headers: str,
    ) -> None:
        """Answer the next ``times`` requests whose path contains ``path_part`` (and whose
        query ``when`` accepts, if given) with ``status``."""
        with self.lock:
            self._failures += [(path_part, status, headers, when)] * times

    def count(self, path_part: str = "") -> int:
        """Requests served whose path contains ``path_part``."""
        return sum(1 for path, _ in self.requests if path_part in path)

    # -- serving -----------------------------------------------------------------------------

    def __enter__(self) -> StandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def site(self) -> str:
        return self.url

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        path = split.path
        with self.lock:
            self.requests.append((path, query))
            if path.startswith("/media/"):  # another host: never sent the site's credentials
                self.media_auth.append(handler.headers.get("Authorization"))
                attached = self.attachments.get(path.removeprefix("/media/"))
                found = (200, attached.data) if attached else (404, {"message": "no file"})
                self._send(handler, *found)
                return
            failure = next(
                (f for f in self._failures if f[0] in path and (f[3] is None or f[3](query))),
                None,
            )
            if failure is not None:
                self._failures.remove(failure)
        if failure is not None:
            self._send(handler, failure[1], {"message": "failure"}, failure[2])
            return
        known = self._authenticated(handler.headers.get("Authorization"))
        if known is None:
            self._send(handler, 401, {"message": "Unauthorized"})
            return
        if not path.startswith(self.prefix):
            self._send(handler, 404, {"message": "not here"})
            return
        with self.lock:
            try:
                status, answer = self._route(path.removeprefix(self.prefix), query, known)
            except ValueError as exc:
                status, answer = 400, {"message": str(exc)}
        moved = isinstance(answer, dict) and status == 302
        self._send(handler, status, answer, {"Location": answer["location"]} if moved else None)

    def _authenticated(self, header: str | None) -> bool | None:
        """True: the bot; False: anonymous (Data Center); None: refused."""
        if self.deployment == "cloud":
            wanted = "Basic " + base64.b64encode(f"{EMAIL}:{self.token}".encode()).decode()
            return True if header == wanted else None
        return header == f"Bearer {self.token}"

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        answer: dict[str, Any] | bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        binary = isinstance(answer, bytes)
        data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header(
            "Content-Type", "application/octet-stream" if binary else "application/json"
        )
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(data)

    # -- routes ------------------------------------------------------------------------------

    def _visible(self, known: bool) -> list[Page]:
        if not known:
            return []  # anonymous may read nothing here
        return [p for p in self.pages.values() if p.status == "current" and not p.invisible]

    def _route(
        self, path: str, query: dict[str, str], known: bool
    ) -> tuple[int, dict[str, Any] | bytes]:
        if path == "/rest/api/user/current":
            if not known:
                return 200, {"type": "anonymous", "displayName": "Anonymous"}
            return 200, {
                "type": "known", "accountId": BOT_ACCOUNT, "username": "bot",
                "displayName": "Sync Bot", "timeZone": self.time_zone,
            }  # fmt: skip
        if path == "/rest/api/user":
            name = self.users.get(query.get("accountId") or query.get("key") or "")
            return (200, {"displayName": name}) if name else (404, {"message": "no user"})
        visible = {p.id: p for p in self._visible(known)}
        if path == "/api/v2/spaces" and self.deployment == "cloud":
            keys = query.get("keys", "").split(",")
            found = [self._space_v2(s) for k, s in self.spaces.items() if k in keys and known]
            return 200, self._cursor_page(found, query, path)
        if m := re.fullmatch(r"/api/v2/spaces/(\d+)/(pages|blogposts)", path):
            if query.get("status") != "current":
                return 400, {"message": "this stand-in wants status=current"}
            key = next((k for k, s in self.spaces.items() if s.id == m[1]), None)
            kind = "page" if m[2] == "pages" else "blogpost"
            items = [p for p in visible.values() if p.space_key == key and p.kind == kind]
            items.sort(key=lambda p: int(p.id))
            with_body = "body-format" in query
            return 200, self._cursor_page([self._v2(p, with_body) for p in items], query, path)
        if m := re.fullmatch(r"/api/v2/(pages|blogposts)/(\d+)", path):
            page = visible.get(m[2])
            if page is None:
                return 404, {"message": "Not found or no permission"}
            return 200, self._v2(page, query.get("body-format") == "storage")
        if m := re.fullmatch(r"/rest/api/space/([^/]+)", path):
            space = self.spaces.get(m[1])
            if space is None or not known:
                return 404, {"message": "No space"}
            return 200, {"key": space.key, "name": space.name, "id": int(space.id)}
        if path == "/rest/api/content":
            items = [
                p
                for p in visible.values()
                if p.space_key == query.get("spaceKey") and p.kind == query.get("type", "page")
            ]
            items.sort(key=lambda p: int(p.id))
            return 200, self._offset_page(items, query, path)
        if path == "/rest/api/content/search":
            items = self._cql(query.get("cql", ""), visible)
            if self.deployment == "cloud":
                return 200, self._cql_cursor_page(items, query, path)
            return 200, self._offset_page(items, query, path)
        if m := re.fullmatch(r"/rest/api/content/(\d+)/restriction/byOperation/read", path):
            page = visible.get(m[1])
            if page is None:
                return 404, {"message": "No content"}
            return 200, {"operation": "read", "restrictions": self._restrictions(page)}
        if m := re.fullmatch(r"/rest/api/content/(\d+)/child/attachment", path):
            if m[1] not in visible:
                return 404, {"message": "No content"}
            files = [a for a in self.attachments.values() if a.page_id == m[1]]
            return 200, self._offset_page(files, query, path)
        if m := re.fullmatch(r"/rest/api/content/(\d+)/child/attachment/(\w+)/download", path):
            attached = self.attachments.get(m[2])
            if m[1] not in visible or attached is None or attached.page_id != m[1]:
                return 404, {"message": "No content"}
            if self.deployment == "cloud":  # Cloud hands the file to its media service
                host = self.url.replace("127.0.0.1", "localhost").removesuffix(self.prefix)
                return 302, {"location": f"{host}/media/{attached.id}"}
            return 200, attached.data
        if m := re.fullmatch(r"/rest/api/content/(\d+)", path):
            page = visible.get(m[1])
            if page is None:
                return 404, {"message": "No content"}
            return 200, self._v1(page, query.get("expand", ""))
        return 404, {"message": f"no route {path}"}

    # -- shapes ------------------------------------------------------------------------------

    def _webui(self, page: Page) -> str:
        kind = "pages" if page.kind == "page" else "blog"
        return f"/spaces/{page.space_key}/{kind}/{page.id}/{quote_plus(page.title)}"

    def _space_v2(self, space: SpaceRec) -> dict[str, Any]:
        return {"id": space.id, "key": space.key, "name": space.name, "type": "global"}

    def _v2(self, page: Page, with_body: bool) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": page.id, "status": page.status, "title": page.title,
            "spaceId": self.spaces[page.space_key].id, "parentId": page.parent_id,
            "parentType": "page" if page.parent_id else None, "position": page.position,
            "version": {"number": page.number, "createdAt": _iso(page.modified)},
            "_links": {"webui": self._webui(page), "tinyui": f"/x/{page.id}"},
        }  # fmt: skip
        if with_body:
            item["body"] = {"storage": {"representation": "storage", "value": page.body}}
        return item

    def _ancestors(self, page: Page) -> list[Page]:
        chain = []
        parent = self.pages.get(page.parent_id or "")
        while parent is not None and parent not in chain:
            chain.append(parent)
            parent = self.pages.get(parent.parent_id or "")
        return chain[::-1]

    def _restrictions(self, page: Page) -> dict[str, Any]:
        users = [{"type": "known", "accountId": BOT_ACCOUNT}] if page.restricted else []
        return {"user": {"results": users, "size": len(users)}, "group": {"results": []}}

    def _v1(self, page: Page | Attachment, expand: str) -> dict[str, Any]:
        if isinstance(page, Attachment):
            return self._attachment_v1(page)
        space = self.spaces[page.space_key]
        item: dict[str, Any] = {
            "id": page.id, "type": page.kind, "status": page.status, "title": page.title,
            "_links": {"webui": self._webui(page), "tinyui": f"/x/{page.id}"},
        }  # fmt: skip
        if "version" in expand:
            item["version"] = {"number": page.number, "when": _iso(page.modified)}
        if "ancestors" in expand:
            item["ancestors"] = [
                {"id": a.id, "type": "page", "title": a.title} for a in self._ancestors(page)
            ]
        if "space" in expand:
            item["space"] = {"key": space.key, "name": space.name}
        if "body.storage" in expand:
            item["body"] = {"storage": {"value": page.body, "representation": "storage"}}
        if "restrictions.read" in expand:
            item["restrictions"] = {"read": {"restrictions": self._restrictions(page)}}
        return item

    def _attachment_v1(self, attached: Attachment) -> dict[str, Any]:
        stamp = int(attached.modified.timestamp() * 1000)
        link = f"/download/attachments/{attached.page_id}/{quote_plus(attached.name)}"
        return {
            "id": attached.id, "type": "attachment", "status": "current", "title": attached.name,
            "version": {"number": attached.number, "when": _iso(attached.modified)},
            "container": {"id": attached.page_id, "type": "page"},
            "extensions": {"fileSize": len(attached.data)},
            "_links": {"download": f"{link}?version={attached.number}&modificationDate={stamp}"},
        }  # fmt: skip

    def _envelope(self, results: list[dict[str, Any]], following: str | None) -> dict[str, Any]:
        links: dict[str, Any] = {"base": self.url, "context": self.prefix}
        if following:
            links["next"] = following
        return {"results": results, "size": len(results), "_links": links}

    def _cursor_page(
        self, items: list[dict[str, Any]], query: dict[str, str], path: str
    ) -> dict[str, Any]:
        limit = int(query.get("limit", 25))
        start = 0
        if "cursor" in query:
            start, made_with = self._cursors[query["cursor"]]
            if made_with != query.get("limit"):
                raise ValueError("limit changed mid-walk: the cursor was made for another")
        taken = items[start : start + min(limit, self.cap)]
        end = start + len(taken)
        following = None
        if end < len(items):
            cursor = base64.urlsafe_b64encode(f"{path}:{end}:{len(self._cursors)}".encode())
            token = cursor.decode().rstrip("=")
            self._cursors[token] = (end, query.get("limit", "25"))
            rest = {k: v for k, v in query.items() if k != "cursor"}
            following = f"{self.prefix}{path}?{urlencode({**rest, 'cursor': token})}"
        return self._envelope(taken, following)

    def _offset_page(self, items: list[Any], query: dict[str, str], path: str) -> dict[str, Any]:
        start, limit = int(query.get("start", 0)), int(query.get("limit", 25))
        taken = items[start : start + min(limit, self.cap)]
        expand = query.get("expand", "")
        following = None
        if start + len(taken) <= len(items) and taken:
            # Data Center: the next start is under-counted, and a next link follows the end.
            rest = {k: v for k, v in query.items() if k != "start"}
            rest["start"] = str(max(start + len(taken) - 1, 0))
            following = f"{path}?{urlencode(rest)}"
        return self._envelope([self._v1(p, expand) for p in taken], following)

    def _cql_cursor_page(
        self, items: list[Any], query: dict[str, str], path: str
    ) -> dict[str, Any]:
        expand = query.get("expand", "")
        answer = self._cursor_page([self._v1(p, expand) for p in items], query, path)
        following = answer["_links"].get("next")
        if following:  # v1 next links are relative to _links.base, and carry a start too
            answer["_links"]["next"] = following.removeprefix(self.prefix) + "&next=true&start=0"
        return answer

    # -- CQL ---------------------------------------------------------------------------------

    _CLAUSE = re.compile(
        r'(\w+)\s*(>=|<=|=|\bin\b)\s*("(?:[^"\\]|\\.)*"|\([^)]*\)|[^\s()]+)', re.IGNORECASE
    )

    def _cql(self, cql: str, visible: dict[str, Page]) -> list[Any]:
        if not cql.strip():
            raise ValueError("CQL query parameter is required but was empty")
        where = re.split(r"\border by\b", cql, flags=re.IGNORECASE)[0]
        if re.search(r"type\s*=\s*attachment", where, re.IGNORECASE):
            spaces = re.search(r"space\s+in\s*(\([^)]*\))", where, re.IGNORECASE)
            keys = _values(spaces[1]) if spaces else []
            return [
                a for a in self.attachments.values()
                if a.page_id in visible and visible[a.page_id].space_key in keys
            ]  # fmt: skip
        items = [page for page in visible.values() if page.id not in self.unindexed]
        for field, op, raw in self._CLAUSE.findall(where):
            values = _values(raw)
            items = [p for p in items if self._matches(p, field.lower(), op.lower(), values)]
        items.sort(key=lambda p: (p.modified, int(p.id)))
        return items

    def _matches(self, page: Page, field: str, op: str, values: list[str]) -> bool:
        if field == "lastmodified":
            zone = ZoneInfo(self.time_zone)
            since = dt.datetime.strptime(values[0], "%Y-%m-%d %H:%M").replace(tzinfo=zone)
            return page.modified >= since
        actual = {
            "space": page.space_key,
            "type": page.kind,
            "id": page.id,
            "title": page.title,
            "parent": page.parent_id or "",
        }.get(field)
        if actual is None:
            raise ValueError(f"unknown CQL field {field}")
        if field == "title":
            return actual.lower() in [v.lower() for v in values]
        return actual in values


def _values(raw: str) -> list[str]:
    raw = raw.strip()
    if raw.startswith("("):
        return [_unquote(part) for part in re.findall(r'"(?:[^"\\]|\\.)*"|[^,\s()]+', raw)]
    return [_unquote(raw)]


def _unquote(value: str) -> str:
    if value.startswith('"') and value.endswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def pages_of(stand_in: StandIn, space: str) -> Iterator[Page]:
    """The current pages of a space."""
    return (p for p in stand_in.pages.values() if p.space_key == space and p.status == "current")
