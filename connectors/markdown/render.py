"""From a Markdown body to safe HTML: site-generator syntax first, then GFM, then sanitizing.

template tag
    Hugo shortcodes (``{{< name >}}``, ``{{% name %}}``, also escaped as ``{{</* */>}}``) and
    Liquid tags (``{% name %}``) and actions (``{{ value }}``) of Jekyll. A site generator
    expands them; we cannot, so each tag is dropped and what it wraps stays: the text of a
    ``{{< note >}}...{{< /note >}}`` pair remains, ``header=`` and ``title=`` arguments
    become bold lines and ``subtitle=`` and ``footer=`` (Docsy's cards) plain ones,
    ``{% include x.html %}`` and ``{{% param x %}}`` vanish. Exceptions: Hugo's
    ``comment`` and Liquid's ``comment`` pairs drop what they wrap, Liquid's ``raw`` keeps
    what it wraps verbatim, ``ref``/``relref``/``link`` become the path they name, so the
    link resolves like any other, and ``figure`` becomes an image with its caption. In code
    (code blocks as cmark reads them: fenced at any indentation, inside list items and
    quotes, or indented; and inline code spans) only shortcodes and Liquid tags are dropped;
    ``{{ ... }}`` there is most often the code being documented (Go templates, Jinja,
    Handlebars) and stays, and an escaped shortcode (``{{</* alert */>}}``) becomes the
    shortcode it shows (``{{< alert >}}``), as Hugo prints it. In prose an escaped shortcode
    is dropped.

tab pane
    Docsy's ``{{< tabpane >}}`` of ``{{< tab >}}`` panes become a bold label per tab and a code
    block in the tab's language (see :mod:`syncd.connectors.markdown.tabs`), before any other
    tag is looked at.

admonition
    A Docusaurus ``:::note Title`` ... ``:::`` block becomes a blockquote opening with its
    title in bold (the kind, capitalised, when it has no title); a GitHub alert
    ``> [!NOTE]`` gets the same bold label.

Rendering is GitHub-flavoured (tables, strikethrough, autolinks, task lists, footnotes) by
cmark-gfm; fenced code comes out as ``<pre><code class="language-x">``. Raw HTML is rendered
and then sanitized here with an allowlist, so that ``<details>`` or an HTML table keeps its
text while scripts, styles, event handlers and unsafe URLs are removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from syncd.connectors.markdown.tabs import convert_tabpanes
from syncd.render import cmark
from syncd.render.sanitize import clean_html

_URL_ATTRIBUTES = {("a", "href"), ("img", "src")}

_HUGO_COMMENT = re.compile(
    r"\{\{[<%]\s*comment\s*[>%]\}\}.*?\{\{[<%]\s*/comment\s*[>%]\}\}", re.DOTALL
)
_LIQUID_COMMENT = re.compile(r"\{%-?\s*comment\s*-?%\}.*?\{%-?\s*endcomment\s*-?%\}", re.DOTALL)
_LIQUID_RAW = re.compile(r"\{%-?\s*raw\s*-?%\}(.*?)\{%-?\s*endraw\s*-?%\}", re.DOTALL)
_TAG_PATTERN = (
    r"\{\{<\s*/\*.*?\*/\s*>\}\}|\{\{%\s*/\*.*?\*/\s*%\}\}"  # escaped shortcode
    r"|\{\{(?P<delim>[<%])\s*(?P<slash>/?)\s*(?P<name>[\w./-]*)(?P<args>.*?)/?\s*[>%]\}\}"
    r"|\{%-?\s*(?P<lname>\w*)(?P<largs>.*?)-?%\}"  # Liquid tag
    r"|\{\{(?![<%])(?P<action>.*?)\}\}"  # Liquid output or Go template action
)
_TAG = re.compile(_TAG_PATTERN, re.DOTALL)
_ESCAPED_SHORTCODE = re.compile(r"\{\{([<%])\s*/\*(.*?)\*/\s*([>%])\}\}", re.DOTALL)
# In prose, whichever starts first wins: a tag may hold backticks, a code span may hold tags.
# A code span may run over lines of its paragraph, never over a blank line. Each alternative
# opens with a plain character (a code span's first backtick is outside its groups), so the
# regex engine skips to those instead of trying every alternative at every character; a
# span's text is taken a run at a time (possessive: a run of backticks is closing whole or
# not at all), not a character at a time.
_PROSE_TOKEN = re.compile(
    r"`(?P<code>(?P<ticks>`*)(?!`)(?:[^`\n]++|`++|\n(?![ \t]*\n))+?(?<!`)`(?P=ticks)(?!`))|"
    + _TAG_PATTERN,
    re.DOTALL,
)
_NAMED_ARGUMENT = r"""\b{}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+))"""
_PATH_TAGS = {"ref", "relref", "link", "post_url"}
_HEADING_ATTRIBUTES = re.compile(r"^( {0,3}#{1,6} .*?)\s*\{[#.][^}]*\}\s*$")
_LINK_START = re.compile(r"(?:\]\(|\]:\s*)<?\Z")
_UNKNOWN_TARGET = "unresolved-template:"  # a scheme the sanitizer refuses, so the link goes
_ADMONITION_OPEN = re.compile(
    r"^(\s*)(:{3,})\s*([A-Za-z][\w-]*)\s*(?:\[(.*)\]|([^{}]*?))?\s*(?:\{.*\})?\s*$"
)
_ADMONITION_CLOSE = re.compile(r"^\s*(:{3,})\s*$")
_GITHUB_ALERT = re.compile(
    r"^(\s*>\s*)\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]", re.MULTILINE | re.IGNORECASE
)
_ATX_HEADING = re.compile(r"^ {0,3}# +(.+?)(?: +#+)? *$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}=+ *$")
_INLINE_MARKUP = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|[*_`~]+|<[^>]+>")
# What a line _admonitions may rewrite holds: an admonition fence, a heading's {#id} or {.class},
# an alert label. Found with str.find: a regex anchored at each line start (^ with MULTILINE)
# is tried at every character, ten times slower on a long page.
_REWRITE_MARKERS = (":::", "{#", "{.", "[!")
# Spaces ending a line, found from the line end before them (see above: no ^).
_SPACES_LINE = re.compile(r"\n[ \t]+$", re.MULTILINE)
_RAW_MARK = "\x00raw{}\x00"
_RAW_BACK = re.compile(r"\x00raw(\d+)\x00")


def prepare(body: str) -> str:
    """The body with template tags and admonitions turned into plain Markdown."""
    # No template tag: most pages, and most of the time this takes. A one-character test
    # first, because str's search for one character is far faster than for two.
    if "{" not in body or ("{{" not in body and "{%" not in body):
        return _admonitions(body)
    body = _HUGO_COMMENT.sub("", body)
    body = _LIQUID_COMMENT.sub("", body)
    raws: list[str] = []

    def keep_raw(match: re.Match[str]) -> str:
        raws.append(match[1])
        return _RAW_MARK.format(len(raws) - 1)

    body = _LIQUID_RAW.sub(keep_raw, body)
    if "tabpane" in body:
        body = convert_tabpanes(body, _code_test(body))
    body = "".join(
        _strip_tags(chunk, in_code=True) if is_code else _strip_tags(chunk, in_code=False)
        for chunk, is_code in _code_chunks(body)
    )
    if raws:
        body = _RAW_BACK.sub(lambda match: raws[int(match[1])], body)
    return _admonitions(body)


def _code_test(text: str) -> Callable[[int], bool]:
    """Whether the character at an offset of ``text`` is in a code block, as cmark reads it."""
    blocks: list[tuple[int, int]] | None = None  # parsed on the first question
    since, line = 0, 1  # the last offset asked about and its line, 1-based as cmark counts

    def in_code(offset: int) -> bool:
        nonlocal blocks, since, line
        if blocks is None:
            # Only tab panes are asked about, and cmark never looks ahead (see _admonitions):
            # the text after the last one's line need not be parsed.
            end = text.find("\n", text.rfind("tabpane"))
            blocks = cmark.code_block_lines(text[: len(text) if end == -1 else end])
        if offset < since:
            since, line = 0, 1
        # Panes are asked about in order: lines are counted on from the last one.
        since, line = offset, line + text.count("\n", since, offset)
        return any(first <= line <= last for first, last in blocks)

    return in_code


def _code_chunks(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into prose and code-block pieces, code as cmark reads it."""
    blocks = cmark.code_block_lines(text)
    if not blocks:
        return [(text, False)]
    # Cut at "\n" only, as cmark counts lines (splitlines() also cuts at \f, \u2028...).
    lines = text.split("\n")
    count = len(lines)

    def piece(start: int, end: int) -> str:
        """Lines ``start`` to ``end`` (0-based, end excluded), each with its line end."""
        if end <= start:
            return ""
        return "\n".join(lines[start:end]) + ("\n" if end < count else "")

    chunks: list[tuple[str, bool]] = []
    done = 0  # lines already in a chunk
    for first, last in blocks:
        start = max(first - 1, done)
        if start > done:
            chunks.append((piece(done, start), False))
        if last > start:
            chunks.append((piece(start, last), True))
        done = max(done, last)
    chunks.append((piece(done, count), False))
    return chunks


def _strip_tags(text: str, *, in_code: bool) -> str:
    if "{{" not in text and "{%" not in text:
        return text
    if in_code:
        stripped = _TAG.sub(_code_tag, text)
        if stripped.startswith("`") and not stripped.strip("`").strip():
            return ""  # an inline code span that held only tags
        return stripped

    def replace(match: re.Match[str]) -> str:
        if match["code"] is not None:
            return _strip_tags(match[0], in_code=True)
        return _replace_tag(match, text)

    stripped = _PROSE_TOKEN.sub(replace, text)
    # A line that held only tags becomes blank, so the blocks around it stay apart.
    stripped = _SPACES_LINE.sub("\n", stripped)
    head = stripped.lstrip(" \t")
    return head if head[:1] in ("", "\n") else stripped  # the first line, which no \n opens


def _code_tag(match: re.Match[str]) -> str:
    """What a template tag in code becomes (see the module docstring)."""
    if match["action"] is not None:
        return match[0]
    if escaped := _ESCAPED_SHORTCODE.fullmatch(match[0]):
        # Hugo prints an escaped shortcode as the shortcode itself: in code, that example
        # of the syntax is what a page documenting shortcodes is about.
        return "{{" + escaped[1] + escaped[2] + escaped[3] + "}}"
    return ""


def _replace_tag(match: re.Match[str], text: str) -> str:
    """What a template tag in prose becomes (see the module docstring)."""
    if match["delim"] is None and match["lname"] is None and match["action"] is None:
        return ""  # an escaped shortcode: an example of the syntax, noise to a reader
    name = match["name"] if match["delim"] else match["lname"]
    arguments = (match["args"] if match["delim"] else match["largs"]) or ""
    if match["action"] is not None or match["slash"]:
        return _unknown_link(text, match.start())
    if name in _PATH_TAGS:
        return _argument(arguments, r"\w+") or _argument(arguments, "") or ""
    if name == "figure" and (source := _argument(arguments, "src")):
        caption = _argument(arguments, "caption") or ""
        alt = _argument(arguments, "alt") or caption.replace("`", "")
        return f"![{alt}](<{source}>)" + (f"\n\n{caption}" if caption else "")
    lines = [f"**{label}**" for key in ("header", "title") if (label := _argument(arguments, key))]
    lines += [value for key in ("subtitle", "footer") if (value := _argument(arguments, key))]
    if lines:
        # The site shows each on a line of its own: the text after them is another word.
        following = text[match.end() : match.end() + 1]
        return "  \n".join(lines) + ("\n" if following and not following.isspace() else "")
    return _unknown_link(text, match.start())


def _argument(arguments: str, key: str) -> str | None:
    """A shortcode argument's value: ``key="value"``; an empty key means the first positional."""
    if not key:
        found = re.match(r"""\s*(?:"([^"]*)"|'([^']*)'|(\S+))""", arguments)
    else:
        found = re.search(_NAMED_ARGUMENT.format(key), arguments)
    value = next((group for group in found.groups() if group), None) if found else None
    return value.strip() if value and value.strip() else None


def _unknown_link(text: str, start: int) -> str:
    """What replaces a dropped tag: nothing, unless it began a link's target.

    A link whose target starts with a value only the site generator knows
    (``[repo](<{{% param github_repo %}}/blob/main>)``) cannot be resolved here; the marker
    makes the sanitizer drop the target and keep the text.
    """
    return _UNKNOWN_TARGET if _LINK_START.search(text, max(0, start - 12), start) else ""


def _admonitions(text: str) -> str:
    """Admonitions to blockquotes, heading ``{#id}`` suffixes removed, alerts labelled.

    Code is left as it is: a ``> [!NOTE]`` or ``:::`` line in a code block is an example.
    """
    found = _rewritable_lines(text)
    if not found:
        return text
    # cmark reads a text line by line, never looking ahead, so whether a line is code is
    # settled by the lines up to it: the text after the last candidate need not be parsed.
    # A heading or an alert line rewritten stays what it was, a heading or a quote, so one
    # parse serves them all; only an admonition moves lines (see _block_quotes).
    code = _code_lines(text[: found[-1][1]])
    rewrites: list[tuple[int, int, str]] = []  # (start, end, new line) of each line rewritten
    number, position = 1, 0
    for start, end, kind in found:
        number += text.count("\n", position, start)
        position = start
        if number in code:
            continue  # code holds only examples
        line = text[start:end]
        if kind == ":":
            if _ADMONITION_OPEN.match(line):
                return _block_quotes(text, code)  # lines move: the rare, slower way
            continue  # a closing fence with nothing open stays as it is
        if kind == "#":
            rewritten = _HEADING_ATTRIBUTES.sub(r"\1", line)
        else:
            rewritten = _GITHUB_ALERT.sub(_alert_label, line)
        rewrites.append((start, end, rewritten))
    if not rewrites:
        return text
    out: list[str] = []
    done = 0
    for start, end, rewritten in rewrites:
        out += (text[done:start], rewritten)
        done = end
    out.append(text[done:])
    return "".join(out)


def _rewritable_lines(text: str) -> list[tuple[int, int, str]]:
    """The lines :func:`_admonitions` may rewrite, in order: (start, end, kind), where kind is
    the line's first character, ``:`` (an admonition fence), ``#`` (a heading ending in
    ``}``) or ``>`` (a quote line opening with an alert label)."""
    starts: set[int] = set()
    for marker in _REWRITE_MARKERS:
        at = text.find(marker)
        while at != -1:
            starts.add(text.rfind("\n", 0, at) + 1)
            line_end = text.find("\n", at)
            at = -1 if line_end == -1 else text.find(marker, line_end)
    found: list[tuple[int, int, str]] = []
    for start in sorted(starts):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end
        line = text[start:end]
        lead = line.lstrip()
        kind = lead[:1]
        if (
            (kind == ":" and lead.startswith(":::"))
            or (kind == "#" and line.endswith("}"))
            or (kind == ">" and _GITHUB_ALERT.match(line))
        ):
            found.append((start, end, kind))
    return found


def _alert_label(match: re.Match[str]) -> str:
    return f"{match[1]}**{match[2].capitalize()}:**"


def _block_quotes(text: str, code: set[int]) -> str:
    """``text`` with admonitions as blockquotes, then alerts labelled; ``code``: its code
    lines, as far as it has candidates (see :func:`_admonitions`)."""
    text = _block_lines(text, code)
    code = _code_lines(text)  # the quotes moved lines and changed what they are
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        if "[!" in line and number not in code:
            lines[number - 1] = _GITHUB_ALERT.sub(_alert_label, line)
    return "\n".join(lines)


def _code_lines(text: str) -> set[int]:
    """The numbers (1-based) of the lines of ``text`` in code blocks, as cmark reads them."""
    return {
        number for first, last in cmark.code_block_lines(text) for number in range(first, last + 1)
    }


def _block_lines(text: str, code: set[int]) -> str:
    """``text`` with admonitions and heading attributes rewritten; ``code``: its code lines."""
    out: list[str] = []
    depth: list[int] = []  # colon counts of the open admonitions
    for number, line in enumerate(text.split("\n"), 1):
        prefix = "> " * len(depth)
        start = "" if number in code else line.lstrip()[:1]  # code holds only examples
        if start == ":":
            close = _ADMONITION_CLOSE.match(line)
            if close is not None and depth and len(close[1]) >= depth[-1]:
                depth.pop()
                out.append("> " * len(depth))
                continue
            opening = _ADMONITION_OPEN.match(line)
            if opening is not None:
                kind, title = opening[3], (opening[4] or opening[5] or "").strip()
                depth.append(len(opening[2]))
                out.append(prefix + f"> **{title or kind.capitalize()}**")
                out.append(prefix + ">")
                continue
        elif start == "#" and line.endswith("}"):
            out.append(prefix + _HEADING_ATTRIBUTES.sub(r"\1", line))
            continue
        out.append(prefix + line)
    return "\n".join(out)


def first_heading(markdown: str) -> str | None:
    """The text of the first level-1 heading outside code, without inline markup."""
    code: set[int] | None = None  # parsed only once a line looks like a heading
    previous = ""
    for number, line in enumerate(markdown.split("\n"), 1):
        heading = _ATX_HEADING.match(line)
        candidate = heading[1] if heading else None
        if candidate is None and previous.strip() and _SETEXT_UNDERLINE.match(line):
            candidate = previous
        previous = line
        if candidate is None:
            continue
        if code is None:
            code = _code_lines(markdown)
        if number in code or (heading is None and number - 1 in code):
            continue  # a comment in a shell or YAML block, not a heading
        text = " ".join(_INLINE_MARKUP.sub(lambda m: m[1] or "", candidate).split())
        if text:
            return text
    return None


def render(markdown: str, resolve_url: Callable[[str], str | None]) -> str:
    """Safe HTML for prepared Markdown; ``resolve_url`` maps each href/src (None drops it)."""
    html = cmark.gfm_to_html(markdown, unsafe=True)  # sanitised below, after links resolve

    def attribute_filter(element: str, attribute: str, value: str) -> str | None:
        if (element, attribute) in _URL_ATTRIBUTES:
            return resolve_url(value)
        if element == "code" and attribute == "class":
            languages = [word for word in value.split() if word.startswith("language-")]
            return languages[0] if languages else None
        return value

    return clean_html(html, attribute_filter=attribute_filter)
