"""Content: from a connector's document to the exact payload Intercom gets, and its hash.

payload
    The fields of one ``POST /ai/external_pages`` body that come from the source: title, HTML,
    URL and the two availability flags (``locale`` and ``source_id`` are added by the
    publisher). The HTML is sanitized here, whatever the connector produced, so a source can
    never smuggle scripts or event handlers into the Content Library.

payload hash
    SHA-256 over the canonical JSON of the payload plus :data:`CONVERTER_VERSION`. Equal hashes
    mean there is nothing to send. Bump the converter version whenever rendering changes in a
    way that should reach pages already published; every page is then re-sent once.

page fields
    :data:`PAGE_FIELDS`, the one list of the fields of a ``POST /ai/external_pages`` body: the
    publisher sends :meth:`Payload.request_body`, built from it, and the sandbox validates
    requests against it. A new page field (audiences, attachments) is a :class:`PageField`
    here, a :class:`Payload` attribute that :func:`render` fills (from the document, or from
    the source's settings through :class:`PageSettings`), and, for a per-source setting, the
    key in the configuration's source model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any, Protocol

from syncd.connectors.base import Document
from syncd.render import cmark
from syncd.render.sanitize import clean_html

# History: 2 = code stays code in Markdown (template expressions kept, Hugo tab panes as code),
# Confluence activity widgets and server links dropped, words kept apart around rewrites.
CONVERTER_VERSION = "2"


_BLANK_RUNS = re.compile(r"\n{3,}")


LOCALE = "en"  # the only locale the AI Content API accepts (2.14)


@dataclasses.dataclass(frozen=True, slots=True)
class PageField:
    """One field of a ``POST /ai/external_pages`` body, as Intercom's 2.14 spec defines it.

    ``kind`` is the JSON type (``str``, ``int``, ``bool``, ``list``); ``default`` is what a
    page created without the field holds. An optional field whose value is None is not sent.
    """

    name: str
    kind: type
    required: bool = True
    choices: tuple[str, ...] | None = None
    default: Any = None


PAGE_FIELDS: tuple[PageField, ...] = (
    PageField("title", str),
    PageField("html", str),
    PageField("url", str, required=False),
    PageField("locale", str, choices=(LOCALE,)),
    PageField("source_id", int),
    PageField("external_id", str),
    # Optional for Intercom, but never None in a payload, so always sent: on update Intercom
    # keeps omitted flags instead of defaulting them.
    PageField("ai_agent_availability", bool, required=False, default=False),
    PageField("ai_copilot_availability", bool, required=False, default=False),
)
"""Every field of a page request; the payload's own plus ``locale`` and ``source_id``."""


class PageSettings(Protocol):
    """The per-source settings a payload carries (a configured source provides them)."""

    @property
    def ai_agent_availability(self) -> bool: ...

    @property
    def ai_copilot_availability(self) -> bool: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Payload:
    """The source-derived fields of one external page, exactly as they will be sent."""

    external_id: str
    title: str
    html: str
    url: str | None
    ai_agent_availability: bool
    ai_copilot_availability: bool

    def as_json(self) -> dict[str, Any]:
        """The payload's fields as a JSON-ready mapping (what the hash covers)."""
        # Not dataclasses.asdict: its deep copy of every value cost more than the mapping.
        return {name: getattr(self, name) for name in _PAYLOAD_FIELDS}

    def request_body(self, source_id: int) -> dict[str, Any]:
        """The body of ``POST /ai/external_pages`` for this payload, in the order of PAGE_FIELDS.

        Optional fields without a value are left out (Intercom then keeps or defaults them).
        """
        values = {**self.as_json(), "locale": LOCALE, "source_id": int(source_id)}
        body: dict[str, Any] = {}
        for field in PAGE_FIELDS:
            value = values[field.name]
            if value is not None or field.required:
                body[field.name] = value
        return body

    def digest(self) -> str:
        """The payload hash: what is sent plus the converter version."""
        canonical = json.dumps(self.as_json(), sort_keys=True, ensure_ascii=False)
        blob = f"{CONVERTER_VERSION}\n{canonical}".encode()
        return hashlib.sha256(blob).hexdigest()


_PAYLOAD_FIELDS = tuple(field.name for field in dataclasses.fields(Payload))


def markdown_to_html(markdown: str) -> str:
    """Render GitHub-flavoured Markdown (tables, strikethrough, task lists, footnotes)."""
    return cmark.gfm_to_html(markdown)


def sanitize_html(html: str) -> str:
    """Keep structure and links; drop scripts, styles, event handlers and unsafe URLs."""
    return clean_html(html)


def render(document: Document, *, external_id: str, settings: PageSettings) -> Payload:
    """Turn a fetched document into the payload Intercom will receive."""
    body = document.body
    if document.body_format == "markdown":
        body = markdown_to_html(body)
    title = " ".join(document.title.split()) or external_id
    return Payload(
        external_id=external_id,
        title=title,
        html=sanitize_html(body),
        url=document.url,
        ai_agent_availability=settings.ai_agent_availability,
        ai_copilot_availability=settings.ai_copilot_availability,
    )


def html_to_text(html: str) -> str:
    """The readable Markdown-like text of a page, for plans and diffs."""
    from markdownify import markdownify  # only plans need it; it loads BeautifulSoup

    text: str = markdownify(html, heading_style="ATX", bullets="-")
    return _BLANK_RUNS.sub("\n\n", text).strip()
