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
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any

from cmarkgfm.cmark import Options as CmarkOptions

from syncd.connectors.base import Document
from syncd.render import cmark
from syncd.render.sanitize import clean_html

# History: 2 = code stays code in Markdown (template expressions kept, Hugo tab panes as code),
# Confluence activity widgets and server links dropped, words kept apart around rewrites.
CONVERTER_VERSION = "2"

_GFM_OPTIONS = CmarkOptions.CMARK_OPT_FOOTNOTES | CmarkOptions.CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE

_BLANK_RUNS = re.compile(r"\n{3,}")


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
        """The payload as the JSON-ready mapping the publisher sends."""
        return dataclasses.asdict(self)

    def digest(self) -> str:
        """The payload hash: what is sent plus the converter version."""
        canonical = json.dumps(self.as_json(), sort_keys=True, ensure_ascii=False)
        blob = f"{CONVERTER_VERSION}\n{canonical}".encode()
        return hashlib.sha256(blob).hexdigest()


def markdown_to_html(markdown: str) -> str:
    """Render GitHub-flavoured Markdown (tables, strikethrough, task lists, footnotes)."""
    # Not github_flavored_markdown_to_html: that writes <pre lang="x">, whose language the
    # sanitizer would drop; the extensions API writes <code class="language-x">.
    return cmark.markdown_to_html(
        markdown,
        options=_GFM_OPTIONS,
        extensions=["table", "strikethrough", "autolink", "tasklist"],
    )


def sanitize_html(html: str) -> str:
    """Keep structure and links; drop scripts, styles, event handlers and unsafe URLs."""
    return clean_html(html)


def render(
    document: Document,
    *,
    external_id: str,
    ai_agent_availability: bool,
    ai_copilot_availability: bool,
) -> Payload:
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
        ai_agent_availability=ai_agent_availability,
        ai_copilot_availability=ai_copilot_availability,
    )


def html_to_text(html: str) -> str:
    """The readable Markdown-like text of a page, for plans and diffs."""
    from markdownify import markdownify  # only plans need it; it loads BeautifulSoup

    text: str = markdownify(html, heading_style="ATX", bullets="-")
    return _BLANK_RUNS.sub("\n\n", text).strip()
