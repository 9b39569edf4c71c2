"""Errors and exit codes: the one table every command answers from.

Every error syncd raises on purpose derives from :class:`SyncdError`. Each class carries the
process exit code that ends a command which fails with it, so the CLI maps errors to codes in
one place and never by matching messages.

The tree::

    SyncdError                      exit 1, an unexpected failure of ours
    ├── UserError                   the user can fix it; printed as one line, no traceback
    │   ├── ConfigError             exit 2, the configuration file or environment is wrong
    │   └── LeaseBusy               exit 1, another run holds the source
    ├── PartialFailure              exit 3, some documents failed, the rest were published
    ├── SafetyStop                  exit 4, a run would delete too much and was refused
    ├── StateError                  exit 5, the state database is unreachable or unusable
    ├── IntercomAuthError           exit 6, Intercom refused the token (401/403)
    └── IntercomUnavailable         exit 75, Intercom kept failing after every retry

Messages never contain secrets: they name files, keys, sources and documents, not values.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence


class ExitCode(enum.IntEnum):
    """Process exit codes, as the public contract lists them."""

    OK = 0
    UNEXPECTED = 1
    CONFIG = 2
    PARTIAL = 3
    SAFETY_STOP = 4
    STATE_DB = 5
    INTERCOM_AUTH = 6
    INTERCOM_UNAVAILABLE = 75  # EX_TEMPFAIL from sysexits.h: a scheduler may retry later


class SyncdError(Exception):
    """Root of every error syncd raises on purpose."""

    exit_code: ExitCode = ExitCode.UNEXPECTED


class UserError(SyncdError):
    """A mistake the user can fix; the CLI prints its message alone, without a traceback."""


class ConfigError(UserError):
    """The configuration is invalid: the message names the file and the key.

    One error may carry several problems (:meth:`combine`), each a ConfigError of its own
    and one line of the message, so that a user fixes them all in one go.
    """

    exit_code = ExitCode.CONFIG

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        where = ": ".join(part for part in (path, key) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.message = message
        self.path = path
        self.key = key
        self.problems: list[ConfigError] = [self]

    @classmethod
    def combine(cls, problems: Sequence[ConfigError]) -> ConfigError:
        """One error holding every problem of ``problems`` (at least one), one per line."""
        flat = [problem for error in problems for problem in error.problems]
        if not flat:
            return cls("invalid configuration")
        if len(flat) == 1:
            return flat[0]
        combined = cls("\n".join(str(problem) for problem in flat))
        combined.path = flat[0].path
        combined.problems = flat
        return combined

    def in_file(self, path: str) -> ConfigError:
        """This error, naming ``path`` where a problem names a key but no file."""
        if all(problem.path or not problem.key for problem in self.problems):
            return self
        return ConfigError.combine(
            [
                problem
                if problem.path or not problem.key
                else ConfigError(problem.message, path=path, key=problem.key)
                for problem in self.problems
            ]
        )


class LeaseBusy(UserError):
    """Another process holds the run lease of a source and did not release it in time."""


class PartialFailure(SyncdError):
    """Some documents failed; every other document was published and recorded."""

    exit_code = ExitCode.PARTIAL


class SafetyStop(SyncdError):
    """A run would delete more than its source allows, so it deleted nothing."""

    exit_code = ExitCode.SAFETY_STOP


class StateError(SyncdError):
    """The state database cannot be reached, migrated or written."""

    exit_code = ExitCode.STATE_DB


class IntercomAuthError(SyncdError):
    """Intercom answered 401 or 403: the token is wrong, revoked or lacks a scope."""

    exit_code = ExitCode.INTERCOM_AUTH


class IntercomUnavailable(SyncdError):
    """Intercom kept failing (5xx, 429, timeouts, dropped connections) after every retry."""

    exit_code = ExitCode.INTERCOM_UNAVAILABLE


class Interrupted(Exception):
    """An HTTP request abandoned because the run is stopping (see :mod:`syncd.net.deadline`).

    Not a :class:`SyncdError`: it ends no command with a code of its own. The run that sees it
    reports itself stopped, and what was abandoned is done again by the next run.
    """
