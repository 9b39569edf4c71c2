"""The extraction worker: a child process that reads one file within hard limits.

Run as ``python -I -m syncd.extract.worker TYPE MAX_CHARS MEMORY_BYTES CPU_SECONDS`` with the
file's bytes on standard input. It limits its own address space (``RLIMIT_AS``) and CPU time
(``RLIMIT_CPU``) before importing any reader, forbids writing files (``RLIMIT_FSIZE``), then
writes one JSON object to standard output: ``{"title": ..., "html": ...}``, or
``{"error": ..., "no_text": true|false}``. A reader that runs out of memory inside native
code may die of a signal instead; the parent (:mod:`syncd.extract.runner`) names that too.
"""

from __future__ import annotations

import json
import resource
import sys
from collections.abc import Callable

_MAX_MESSAGE = 300


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _reader(kind: str, file_type: str) -> Callable[..., str | None]:
    if kind == "pdf":
        from syncd.extract import pdf

        return pdf.extract
    if kind in {"docx", "pptx", "xlsx"}:
        from syncd.extract import office

        reader: Callable[..., str | None] = getattr(office, f"extract_{kind}")
        return reader
    from syncd.extract import text

    return text.extract_markdown if file_type == "md" else text.extract_text


def run(data: bytes, file_type: str, max_chars: int) -> dict[str, object]:
    """Extract ``data``, a file of extension ``file_type``: the JSON answer as a dict."""
    from syncd.extract.errors import ExtractError, NoText
    from syncd.extract.html import Body
    from syncd.extract.sniff import check_kind

    body = Body(max_chars)
    try:
        title = _reader(check_kind(data, file_type), file_type)(data, body)
    except ExtractError as exc:
        return {"error": str(exc), "no_text": isinstance(exc, NoText)}
    except MemoryError:
        raise
    except Exception as exc:  # a damaged file breaks readers in any way
        detail = " ".join(str(exc).split())[:_MAX_MESSAGE] or type(exc).__name__
        return {"error": f"could not be read ({detail})", "no_text": False}
    if body.text_chars == 0:
        no_text = NoText("has no text (a scan without a text layer?)")
        return {"error": str(no_text), "no_text": True}
    return {"title": title, "html": body.html()}


def main() -> None:
    """The worker's entry point (see the module docstring)."""
    file_type, max_chars, memory_bytes, cpu_seconds = sys.argv[1:5]
    _limit(int(memory_bytes), int(cpu_seconds))
    data = sys.stdin.buffer.read()
    try:
        answer = run(data, file_type, int(max_chars))
    except MemoryError:
        del data
        megabytes = int(memory_bytes) // (1024 * 1024)
        answer = {"error": f"needs more than {megabytes} MiB of memory to read", "no_text": False}
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
