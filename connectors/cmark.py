"""GitHub-flavoured Markdown to HTML through cmark-gfm, without leaking native memory.

``cmarkgfm.markdown_to_html_with_extensions`` never frees the document tree that
``cmark_parser_finish`` hands over, nor the HTML buffer ``cmark_render_html`` returns (cmark
leaves both to the caller). Measured: about 15 KB per rendered page, so a long run's memory
grows with every document. This module makes the same calls through cmarkgfm's own bindings
and frees both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cffi  # type: ignore[import-untyped]
from cmarkgfm import _cmark

_lib: Any = _cmark.lib
_ffi: Any = _cmark.ffi
# cmarkgfm's bindings do not declare these two; the same shared object exports them.
_extra_ffi = cffi.FFI()
_extra_ffi.cdef("void cmark_node_free(void *node); void free(void *ptr);")
_extra: Any = _extra_ffi.dlopen(_cmark.__file__)
_libc: Any = _extra_ffi.dlopen(None)


def _address(pointer: Any) -> Any:
    return _extra_ffi.cast("void *", int(_ffi.cast("uintptr_t", pointer)))


def markdown_to_html(text: str, *, options: int, extensions: Sequence[str]) -> str:
    """Render ``text`` with the named cmark-gfm extensions; frees everything it allocates."""
    _lib.cmark_gfm_core_extensions_ensure_registered()
    parser = _lib.cmark_parser_new(options)
    try:
        for name in extensions:
            extension = _lib.cmark_find_syntax_extension(name.encode())
            if extension == _ffi.NULL:
                raise ValueError(f"unknown cmark-gfm extension {name!r}")
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
                _libc.free(_address(raw))
        finally:
            _extra.cmark_node_free(_address(root))
    finally:
        _lib.cmark_parser_free(parser)
    return html
