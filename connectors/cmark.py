"""GitHub-flavoured Markdown to HTML through cmark-gfm, without leaking native memory.

``cmarkgfm.markdown_to_html_with_extensions`` never frees the document tree that
``cmark_parser_finish`` hands over, nor the HTML buffer ``cmark_render_html`` returns (cmark
leaves both to the caller). Measured: about 15 KB per rendered page, so a long run's memory
grows with every document. This module makes the same calls through cmarkgfm's own bindings
and frees both.

The two freeing functions are bound on the first render, not at import: declaring them makes
cffi parse C with pycparser (about 30 ms), which every command would otherwise pay at start-up
whether or not it renders anything.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from cmarkgfm import _cmark

_lib: Any = _cmark.lib
_ffi: Any = _cmark.ffi


@functools.cache
def _freeing() -> tuple[Any, Any, Any]:
    """cffi bindings of ``cmark_node_free`` and libc ``free``: (ffi, cmark library, libc)."""
    import cffi  # type: ignore[import-untyped]  # with pycparser, only once something renders

    # cmarkgfm's bindings do not declare these two; the same shared object exports them.
    extra_ffi = cffi.FFI()
    extra_ffi.cdef("void cmark_node_free(void *node); void free(void *ptr);")
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
    """Render ``text`` with the named cmark-gfm extensions; frees everything it allocates."""
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
