"""Reading one Markdown file: its text, its front matter and what the front matter says.

text
    Files are UTF-8, with or without a byte-order mark; UTF-16 and UTF-32 are read when a BOM
    says so. Line ends become ``\\n``. A file that is none of these, or holds NUL bytes (an
    image saved as ``.md``), fails with :class:`~syncd.connectors.base.DocumentError`.

front matter
    A YAML block between ``---`` lines (closed by ``---`` or ``...``) or, as Hugo writes it, a
    TOML block between ``+++`` lines, at the very start of the file. It must be a mapping;
    anything else, or a parse error, fails the document with the parser's reason and line.
    A file that opens with ``---`` but never closes it has no front matter: that line is a
    thematic break.

exclusion
    ``draft: true``, ``unlisted: true``, ``headless: true``, ``sync: false`` and Hugo's
    ``build: {render: never}`` keep a page out of Intercom, each reported by its own name.
    A Docusaurus *unlisted* page is built and reachable by its URL, but its author kept it
    out of the sidebar, the site search and search engines; Fin would hand it to anyone who
    asks, so it is left out too, unless its front matter also says ``sync: true``.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from syncd.connectors.base import DocumentError

_YAML_BLOCK = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.DOTALL | re.MULTILINE)
_TOML_BLOCK = re.compile(r"\A\+\+\+[ \t]*\n(.*?)^\+\+\+[ \t]*$\n?", re.DOTALL | re.MULTILINE)
_BOMS = (
    # UTF-32 first: its little-endian BOM begins with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_TRUE = {True, "true", "yes", "on", "1"}
_FALSE = {False, "false", "no", "off", "0"}
# libyaml's parser when PyYAML was built with it (several times faster), else the pure one.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# How a file with front matter starts, in any encoding decode() accepts (BOMs included).
_FENCE_STARTS = (b"---", b"+++", *(bom for bom, _ in _BOMS))


def decode(data: bytes, name: str) -> str:
    """The text of a file's bytes, with ``\\n`` line ends; DocumentError if it is not text."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    if encoding == "utf-8" and b"\x00" in data:
        raise DocumentError(f"{name}: holds NUL bytes, so it is a binary file, not Markdown")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{name}: not {encoding.removesuffix('-sig').upper()} text "
            f"(undecodable byte at offset {exc.start}); save it as UTF-8"
        ) from None
    if "\x00" in text:
        raise DocumentError(f"{name}: holds NUL bytes, so it is a binary file, not Markdown")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str, name: str) -> tuple[dict[str, Any], str]:
    """The front matter (empty without one) and the body after it."""
    block = _block(text)
    if block is None:
        return {}, text
    return _parse(block, name), text[block.end() :]


def linked_front_matter(data: bytes, name: str, keys: Iterable[str]) -> dict[str, Any]:
    """The front matter of a file's raw bytes when it may set one of ``keys``, else empty.

    For a page that is only linked to: most files have no front matter, or one that names
    none of ``keys`` (which can only hold when the block contains their text), so neither
    decoding the whole file nor parsing the block is needed to know what the keys say.
    """
    if not data.startswith(_FENCE_STARTS):
        return {}
    text = decode(data, name)
    block = _block(text)
    if block is None or not any(key in block[1] for key in keys):
        return {}
    return _parse(block, name)


def _block(text: str) -> re.Match[str] | None:
    """The front matter block at the start of ``text``: group 1 is its YAML or TOML."""
    if text.startswith("---"):
        return _YAML_BLOCK.match(text)
    if text.startswith("+++"):
        return _TOML_BLOCK.match(text)
    return None


def _parse(block: re.Match[str], name: str) -> dict[str, Any]:
    if block.re is _YAML_BLOCK:
        try:
            data = yaml.load(block[1], Loader=_Loader)  # noqa: S506 - a SafeLoader
        except yaml.YAMLError as exc:
            raise DocumentError(
                f"{name}: front matter is not valid YAML: {_yaml_reason(exc)}"
            ) from None
        except (ValueError, TypeError, OverflowError) as exc:
            # A value that looks like a date or a number but is none: `date: 2020-13-45`.
            raise DocumentError(
                f"{name}: front matter holds a value YAML cannot read: {exc}"
            ) from None
        return _checked(_as_mapping(data, name), name)
    try:
        return _checked(tomllib.loads(block[1]), name)
    except tomllib.TOMLDecodeError as exc:
        raise DocumentError(f"{name}: front matter is not valid TOML: {exc}") from None


#: The keys that decide whether a page is published: a value of the wrong type fails the page,
#: as ignoring it could publish what its author meant to keep out.
FLAG_KEYS = ("draft", "unlisted", "headless", "sync")


def _checked(front_matter: dict[str, Any], name: str) -> dict[str, Any]:
    """The front matter, or DocumentError naming a flag key whose value is not true or false."""
    for key in FLAG_KEYS:
        value = front_matter.get(key)
        if value not in (None, "") and _flag(value) is None:
            raise DocumentError(
                f"{name}: front matter key {key!r} must be true or false, not"
                f" {type(value).__name__} {_shown(value)}"
            )
    return front_matter


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _yaml_reason(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        # The mark counts from the block; the opening --- is line 1 of the file.
        return f"{exc.problem} (line {exc.problem_mark.line + 2})"
    return str(exc).replace("\n", " ")


def _as_mapping(data: Any, name: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DocumentError(
            f"{name}: front matter must be a mapping of keys to values, not a {type(data).__name__}"
        )
    return {str(key): value for key, value in data.items()}


def _flag(value: Any) -> bool | None:
    if not isinstance(value, (str, bool, int)):
        return None  # lists and mappings cannot be looked up in a set
    normalized = value.strip().lower() if isinstance(value, str) else value
    if normalized in _TRUE:
        return True
    if normalized in _FALSE:
        return False
    return None


def exclusion_reason(front_matter: Mapping[str, Any]) -> str | None:
    """Why the front matter keeps this page out of Intercom, or None to publish it."""
    sync = _flag(front_matter.get("sync"))
    for key in ("draft", "unlisted", "headless"):
        if _flag(front_matter.get(key)) is True and not (key == "unlisted" and sync is True):
            return f"{key}: true"
    if sync is False:
        return "sync: false"
    build = front_matter.get("build") or front_matter.get("_build")
    if isinstance(build, Mapping) and str(build.get("render", "")).lower() in ("never", "false"):
        return "build.render: never"
    return None


def text_value(front_matter: Mapping[str, Any], key: str) -> str | None:
    """A scalar front-matter value as stripped text, None when absent, empty or a structure."""
    value = front_matter.get(key)
    if value is None or isinstance(value, (Mapping, list, bool)):
        return None
    text = " ".join(str(value).split())
    return text or None


def tags(front_matter: Mapping[str, Any]) -> list[str]:
    """The page's tags: strings, or the ``label`` of Docusaurus tag objects."""
    raw = front_matter.get("tags")
    if isinstance(raw, str):
        raw = [part for part in re.split(r"[,\s]+", raw) if part]
    if not isinstance(raw, list):
        return []
    found: list[str] = []
    for item in raw:
        label = item.get("label") if isinstance(item, Mapping) else item
        if isinstance(label, (str, int, float)) and str(label).strip():
            found.append(str(label).strip())
    return found


def describe_change(old: str, new: str) -> str | None:
    """Two listed versions in words: ``size:mtime_ns`` of a file, ``blob:salt`` from git."""
    file_old, file_new = _file_version(old), _file_version(new)
    if file_old is not None and file_new is not None:
        (size_old, _), (size_new, mtime) = file_old, file_new
        when = dt.datetime.fromtimestamp(mtime / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        size = (
            f"size {size_old} -> {size_new} bytes"
            if size_old != size_new
            else f"same size ({size_new} bytes)"
        )
        return f"{size}, modified {when}"
    blob_old, blob_new = old.partition(":")[0], new.partition(":")[0]
    if _GIT_BLOB.match(blob_old) and _GIT_BLOB.match(blob_new):
        return f"git blob {blob_old[:10]} -> {blob_new[:10]}"
    return None


_GIT_BLOB = re.compile(r"^[0-9a-f]{40,64}$")


def _file_version(version: str) -> tuple[int, int] | None:
    size, _, mtime = version.partition(":")
    if size.isdigit() and mtime.isdigit():
        return int(size), int(mtime)
    return None
