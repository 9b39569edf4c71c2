"""The errors of extraction (drawn in :mod:`syncd.extract`)."""

from __future__ import annotations


class ExtractError(Exception):
    """Root: a file's text could not be published; the message says why, without its name."""


class NoText(ExtractError):
    """The file holds no text to publish (a scan without a text layer, an empty sheet)."""


class ExtractionFailed(ExtractError):
    """The file could not be read: damaged, encrypted, too big, too slow, or mislabelled."""


class TooSlow(ExtractionFailed):
    """The file took longer to read than allowed; a quieter run may manage it."""
