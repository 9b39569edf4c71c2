"""GitHub-flavoured Markdown through cmark-gfm, without leaking native memory.

Two uses: rendering to HTML (:func:`markdown_to_html`; :func:`gfm_to_html` with the one set of
GitHub extensions and options every Markdown source uses), and finding which lines of a text
cmark itself reads as code blocks (:func:`code_block_lines`), so that code is told from prose
exactly as the renderer will tell it: fences at any indentation, inside list items and block
quotes, and indented code blocks.

``cmarkgfm.markdown_to_html_with_extensions`` never frees the document tree that
``cmark_parser_finish`` hands over, nor the HTML buffer ``cmark_render_html`` returns (cmark
leaves both to the caller). Measured: about 15 KB per rendered page, so a long run's memory
grows with every document. This module makes the same calls through cmarkgfm's own bindings
and frees both.

A table costs cmark about 500 bytes of memory per cell, and 4 MiB of Markdown can hold two
million cells (1,000 columns of ``|a``): with the ``table`` extension, a text with more than
:data:`MAX_TABLE_CELLS` cell separators (``|``, at least one per two cells) is refused
(:class:`TablesTooLarge`) before cmark reads it. Its HTML would exceed the page limit anyway.

The two freeing functions are bound on the first render, not at import: declaring them makes
cffi parse C with pycparser (about 30 ms), which every command would otherwise pay at start-up
whether or not it renders anything.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from cmarkgfm import _cmark
from cmarkgfm.cmark import Options

from syncd.connectors.base import DocumentTooLarge

_lib: Any = _cmark.lib
_ffi: Any = _cmark.ffi


#: The most table cell separators a Markdown text may hold (see the module docstring).
MAX_TABLE_CELLS = 100_000


class TablesTooLarge(DocumentTooLarge):
    """A Markdown text holds more table cells than :data:`MAX_TABLE_CELLS`."""


_CMARK_OPT_SOURCEPOS = 1 << 1
# Node types as cmark.h numbers them (CMARK_NODE_TYPE_BLOCK | n).
_NODE_CODE_BLOCK = 0x8005
# Blocks that hold blocks: document, block quote, list, item, custom block, footnote.
_CONTAINERS = frozenset({0x8001, 0x8002, 0x8003, 0x8004, 0x8007, 0x800B})

# What cmarkgfm's bindings do not declare; the same shared object exports all of it.
_DECLARATIONS = """
void cmark_node_free(void *node);
void free(void *ptr);
void *cmark_node_first_child(void *node);
void *cmark_node_next(void *node);
int cmark_node_get_type(void *node);
int cmark_node_get_start_line(void *node);
int cmark_node_get_end_line(void *node);
"""


@functools.cache
def _freeing() -> tuple[Any, Any, Any]:
    """cffi bindings of what cmarkgfm leaves out, and libc ``free``: (ffi, cmark, libc)."""
    import cffi  # type: ignore[import-untyped]  # with pycparser, only once something renders

    extra_ffi = cffi.FFI()
    extra_ffi.cdef(_DECLARATIONS)
    return extra_ffi, extra_ffi.dlopen(_cmark.__file__), extra_ffi.dlopen(None)


def _address(extra_ffi: Any, pointer: Any) -> Any:
    return extra_ffi.cast("void *", int(_ffi.cast("uintptr_t", pointer)))


@functools.cache
def _extensions(names: tuple[str, ...]) -> tuple[Any, ...]:
    """The named syntax extensions; cmark-gfm registers each once, for the process's life."""
    _lib.cmark_gfm_core_extensions_ensure_registered()
    found = tuple(_lib.cmark_find_syntax_extension(name.encode()) for name in names)
    for name, extension in zip(names, found, strict=True):
        if extension == _ffi.NULL:
            raise ValueError(f"unknown cmark-gfm extension {name!r}")
    return found


def markdown_to_html(text: str, *, options: int, extensions: Sequence[str]) -> str:
    """Render ``text`` with the named cmark-gfm extensions; frees everything it allocates.

    TablesTooLarge, with the ``table`` extension, for a text of too many cells.
    """
    if "table" in extensions and (cells := text.count("|")) > MAX_TABLE_CELLS:
        raise TablesTooLarge(
            f"{cells:,} table cell separators (|), over the limit of {MAX_TABLE_CELLS:,}:"
            " tables that large cost gigabytes to render; split the table"
        )
    extra_ffi, extra, libc = _freeing()
    attached = _extensions(tuple(extensions))
    parser = _lib.cmark_parser_new(options)
    try:
        for extension in attached:
            _lib.cmark_parser_attach_syntax_extension(parser, extension)
        encoded = text.encode("utf-8")
        _lib.cmark_parser_feed(parser, encoded, len(encoded))
        root = _lib.cmark_parser_finish(parser)
        try:
            raw = _lib.cmark_render_html(
                root, options, _lib.cmark_parser_get_syntax_extensions(parser)
            )
            try:
                html: str = _ffi.string(raw).decode("utf-8")
            finally:
                libc.free(_address(extra_ffi, raw))
        finally:
            extra.cmark_node_free(_address(extra_ffi, root))
    finally:
        _lib.cmark_parser_free(parser)
    return html


def code_block_lines(text: str) -> list[tuple[int, int]]:
    """The code blocks of ``text`` as cmark reads them: (first line, last line), 1-based.

    Fenced blocks count from their opening fence to their closing one (to the end of their
    container when left open); an indented block from its first line to its last.
    """
    extra_ffi, extra, _ = _freeing()
    parser = _lib.cmark_parser_new(_CMARK_OPT_SOURCEPOS)
    found: list[tuple[int, int]] = []
    try:
        encoded = text.encode("utf-8")
        _lib.cmark_parser_feed(parser, encoded, len(encoded))
        root = _address(extra_ffi, _lib.cmark_parser_finish(parser))
        try:
            # Only blocks that hold blocks are entered: each call crosses into C, and a
            # paragraph's inline nodes (most of a page) can hold no code block. The calls
            # are looked up once: a long page has thousands of blocks.
            first_child, next_node = extra.cmark_node_first_child, extra.cmark_node_next
            node_type = extra.cmark_node_get_type
            pending = [first_child(root)]
            while pending:
                node = pending.pop()
                while node:  # a NULL pointer is false
                    kind = node_type(node)
                    if kind == _NODE_CODE_BLOCK:
                        first = extra.cmark_node_get_start_line(node)
                        found.append((first, max(first, extra.cmark_node_get_end_line(node))))
                    elif kind in _CONTAINERS:
                        pending.append(next_node(node))
                        node = first_child(node)
                        continue
                    node = next_node(node)
        finally:
            extra.cmark_node_free(root)
    finally:
        _lib.cmark_parser_free(parser)
    return found


GFM_EXTENSIONS = ("table", "strikethrough", "autolink", "tasklist")
"""GitHub's syntax extensions, as github.com renders Markdown files and wikis."""

GFM_OPTIONS = Options.CMARK_OPT_FOOTNOTES | Options.CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE


def gfm_to_html(text: str, *, unsafe: bool = False) -> str:
    """Render GitHub-flavoured Markdown (tables, strikethrough, task lists, footnotes).

    Raw HTML in the text is replaced by a comment unless ``unsafe``: pass it only when the
    result is sanitised afterwards (the Markdown connector resolves links first, then cleans).
    """
    # Not cmark's github_flavored_markdown_to_html: that writes <pre lang="x">, whose language
    # the sanitiser would drop; the extensions API writes <code class="language-x">.
    options = GFM_OPTIONS | (Options.CMARK_OPT_UNSAFE if unsafe else 0)
    return markdown_to_html(text, options=options, extensions=GFM_EXTENSIONS)
