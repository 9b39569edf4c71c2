"""A Confluence storage-format body read as an XML tree.

A body is parsed as XML, never as HTML: the HTML parser turns the CDATA of code macros into
comments and loses them. Three repairs come first, each seen in real exports:

* ``]] >`` back to ``]]>``: a body is itself CDATA in ``entities.xml``, so Confluence writes
  the end of an inner CDATA section with a space;
* HTML named entities (``&nbsp;``, ``&mdash;``) to numeric references, outside CDATA only,
  since XML defines just five; a stray ``&`` becomes ``&amp;``;
* the ``ac:``, ``ri:`` and ``at:`` prefixes (and any other a pasted body uses, ``o:`` from
  Word) are declared on a wrapper element, because Confluence never declares them.
"""

from __future__ import annotations

import functools
import re
from html.entities import html5

from lxml import etree

from syncd.render.sanitize import MAX_NESTING, check_nesting

AC = "http://atlassian.com/content"
RI = "http://atlassian.com/resource/identifier"
AT = "http://atlassian.com/template"
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}
_CDATA = re.compile(r"(<!\[CDATA\[.*?\]\]>)", re.DOTALL)
# An ampersand that does not start a reference XML knows (those are left alone, unread).
_ENTITY = re.compile(
    r"&(?!(?:#[0-9]+|#[xX][0-9a-fA-F]+|amp|lt|gt|quot|apos);)(?:([A-Za-z][A-Za-z0-9]*);)?"
)
_KNOWN_PREFIXES = {"ac": AC, "ri": RI, "at": AT}
# Prefixes other than the known ones (which need no declaration): a body names ac: and ri:
# thousands of times, and matching only the others leaves the scan to the regex engine.
_OTHER = "(?!(?:" + "|".join(sorted({*_KNOWN_PREFIXES, "xml", "xmlns"})) + "):)"
_PREFIX = re.compile(
    rf"</?{_OTHER}([A-Za-z_][\w.-]*):[A-Za-z_]|\s{_OTHER}([A-Za-z_][\w.-]*):[A-Za-z_][\w.-]*\s*="
)


class StorageError(ValueError):
    """A body that is not well-formed storage format even after the repairs."""


def _entity(match: re.Match[str]) -> str:
    name = match[1]
    if name is None:
        return "&amp;"  # a bare ampersand
    if name.startswith("#") or name in _XML_ENTITIES:
        return match[0]
    return _numeric(name)


@functools.cache  # a few names (&nbsp;, &mdash;) over and over
def _numeric(name: str) -> str:
    text = html5.get(f"{name};")
    if text is None:
        return f"&amp;{name};"  # unknown: shown as written
    return "".join(f"&#{ord(char)};" for char in text)


def repair(body: str) -> str:
    """The body with broken CDATA ends and HTML entities made well-formed XML."""
    body = body.replace("]] >", "]]>")
    parts = _CDATA.split(body)
    # Odd parts are CDATA sections, whose text is literal and must not be touched.
    return "".join(part if i % 2 else _ENTITY.sub(_entity, part) for i, part in enumerate(parts))


def _declarations(prefixes: dict[str, str]) -> str:
    return " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in sorted(prefixes.items()))


_KNOWN_DECLARATIONS = _declarations(_KNOWN_PREFIXES)


def parse_storage(body: str) -> etree._Element:
    """The body as an XML tree under a wrapper element; StorageError if it cannot be read."""
    fixed = repair(body)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True,
        remove_pis=True, load_dtd=False,
    )  # fmt: skip
    try:
        # Most bodies use only the known prefixes: the scan for others (a regex over the
        # whole body) is paid only by a body that does not parse without it.
        return etree.fromstring(f"<root {_KNOWN_DECLARATIONS}>{fixed}</root>".encode(), parser)
    except etree.XMLSyntaxError:
        pass
    outside = "".join(_CDATA.split(fixed)[::2])
    prefixes = {name for match in _PREFIX.finditer(outside) for name in match.groups() if name}
    declared = dict(_KNOWN_PREFIXES)
    for prefix in sorted(prefixes - {"xml", "xmlns", *declared}):
        declared[prefix] = f"urn:syncd:undeclared:{prefix}"
    try:
        return etree.fromstring(f"<root {_declarations(declared)}>{fixed}</root>".encode(), parser)
    except etree.XMLSyntaxError as exc:
        raise StorageError(f"the storage-format body is not well-formed XML: {exc}") from exc


@functools.cache
def _level(depth: int) -> etree.XPath:
    """Whether the tree has an element ``depth`` levels below its root (one XPath, in C)."""
    return etree.XPath("boolean(" + "/".join(["*"] * depth) + ")")


def _cdata_brackets(body: str) -> int:
    """How many ``<`` the body's CDATA sections hold (string searches, no regex).

    Not yet repaired, an inner section may end in ``]] >``: whichever end comes first.
    """
    count = 0
    for section in body.split("<![CDATA[")[1:]:
        ends = [end for end in (section.find("]]>"), section.find("]] >")) if end >= 0]
        count += section.count("<", 0, min(ends, default=len(section)))
    return count


def check_depth(tree: etree._Element, body: str, where: str) -> None:
    """NestingTooDeep when ``body`` (parsed as ``tree``) nests deeper than ``check_nesting`` allows.

    ``check_nesting`` reads the text tag by tag in Python: a tenth of the CPU of a 10 KB page.
    The depth it counts is at most the tree's depth plus two for each ``<`` in CDATA (code,
    which it reads as tags too: one it opens, one closing tag it may swallow); a tree shallow
    enough by that bound is let through on one XPath, and only the others are read in full.
    """
    if "<!--" in body:  # comments are gone from the tree; their tags counted all the same
        check_nesting(body, where)
        return
    spare = MAX_NESTING - 2 * _cdata_brackets(body)
    if spare < 1 or _level(spare)(tree):
        check_nesting(body, where)
