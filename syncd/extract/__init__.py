"""Extraction: the text of an attached file (PDF, Word, PowerPoint, Excel, text) as clean HTML.

Connectors that publish attachments hand a file's bytes to :func:`extract` and get back an
:class:`Extracted` page body, or one of the errors below; :mod:`syncd.extract.attachments`
holds what they share on top (the ``attachments`` option, the way from a file to a
document). It imports nothing of the engine, the state or the publisher. Vocabulary:

kind
    What a file is, by its content, not its name: ``pdf``, ``docx``, ``pptx``, ``xlsx``,
    ``txt``, ``md`` (see :mod:`syncd.extract.sniff`). The *type* a user lists in
    ``attachments: {types: [...]}`` is the file name's extension; a file whose content is not
    of its extension's kind fails, named.

worker
    Every file is read in a child process (:mod:`syncd.extract.worker`) with a memory limit
    (``RLIMIT_AS``), a CPU limit and a wall-clock deadline, so a truncated or encrypted PDF, a
    zip bomb posing as a DOCX or a 10,000-page PDF fails alone and the run's memory stays
    bounded. A stop (SIGTERM) kills the worker at once.

body
    Headings, paragraphs, lists and tables (spreadsheets and Word tables), one ``<section>``
    per PDF page, slide or sheet; no control characters and no U+FFFD replacement marks (see
    :mod:`syncd.extract.html`).

Errors (all :class:`ExtractError`, the message says what is wrong, without the file's name,
which the caller adds):

* :class:`NoText`: the file has no text layer (a scanned PDF) or no text at all; it is
  skipped and counted, not published empty.
* :class:`ExtractionFailed`: damaged, encrypted, too big, too many pages, or not what its
  extension says; its subclass :class:`TooSlow`: past the time limit.

A stop while the worker reads raises :class:`~syncd.extract.runner.Stopped`, an
:class:`~syncd.errors.Interrupted`: the run settles nothing for that file.
"""

from __future__ import annotations

from syncd.extract.errors import ExtractError, ExtractionFailed, NoText, TooSlow
from syncd.extract.runner import Extracted, Limits, extract
from syncd.extract.sniff import TYPES

__all__ = [
    "TYPES",
    "ExtractError",
    "Extracted",
    "ExtractionFailed",
    "Limits",
    "NoText",
    "TooSlow",
    "extract",
]
