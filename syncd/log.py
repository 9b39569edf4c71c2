"""Logging: structlog configured once, for our events and third-party stdlib loggers alike.

Events are short dotted names (``sync.finished``, ``publish.retry``) with facts as key-values.
On a terminal they render as coloured console lines; otherwise (containers, CronJobs, pipes)
as one JSON object per line, which log collectors parse without help. Records of stdlib
loggers (alembic, apscheduler, httpx, uvicorn) pass through the same processors, so a run's
output has one format.

Import this module before anything imports structlog (the command line does): structlog's
package imports its console renderer, which imports rich's console, tracebacks and
pretty-printer when rich is installed (tens of milliseconds, measured with ``python -X
importtime``). JSON lines need none of it, so structlog is first imported with rich hidden,
and :func:`configure` brings rich back into the console renderer only when console output is
chosen.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
import threading
import traceback
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Literal

from syncd import redact


@contextlib.contextmanager
def hidden_modules(*names: str) -> Iterator[None]:
    """Make ``import name`` raise ImportError inside the block, for names not yet imported.

    For libraries that import an optional package at import time, only for a feature syncd
    does not use (they catch the ImportError and go without).
    """
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # import machinery: "not found"
    try:
        yield
    finally:
        for name in hidden:
            del sys.modules[name]


with hidden_modules("rich"):
    import structlog

LogFormat = Literal["json", "console"]
get_logger = structlog.get_logger

_NOISY = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "alembic": logging.WARNING,
    "apscheduler": logging.WARNING,
}


_chosen: list[LogFormat] = []  # the format of the last configure(), for is_console()


def is_console() -> bool:
    """Whether log lines are readable text for people (a terminal), not JSON for machines."""
    return bool(_chosen) and _chosen[-1] == "console"


def configure(level: str = "info", fmt: LogFormat | None = None) -> None:
    """Route structlog and stdlib logging to stderr in one format."""
    if fmt is None:
        fmt = "console" if sys.stderr.isatty() else "json"
    _chosen[:] = [fmt]
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = _console_renderer(colors=sys.stderr.isatty())
    # Secrets are masked in the facts, then in the finished line: a console traceback is
    # rendered by the renderer itself (see syncd.redact).
    shared.append(_redact_event)
    renderer = _redacting(renderer)
    _install_excepthooks()
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    numeric = logging.getLevelName(level.upper())
    root.setLevel(numeric if isinstance(numeric, int) else logging.INFO)
    for name, floor in _NOISY.items():
        # Per-request lines from httpx would drown the run's own events at INFO.
        logging.getLogger(name).setLevel(max(floor, root.level))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes each record to ``sys.stderr`` as it is then.

    A live progress display replaces ``sys.stderr`` while it runs, to print log lines above
    its bars; a handler holding the stream it was built with would draw over them.
    """

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _console_renderer(*, colors: bool) -> structlog.types.Processor:
    """structlog's console renderer, with rich tracebacks but never their local variables.

    Locals would print the publisher's headers, the token among them.
    """
    if vars(structlog.dev).get("rich") is None:
        # structlog.dev imports rich and picks its traceback formatter when it is executed:
        # run it again now that rich is no longer hidden.
        importlib.reload(structlog.dev)
    formatter: Any = structlog.dev.plain_traceback
    if vars(structlog.dev).get("rich") is not None:
        formatter = structlog.dev.RichTracebackFormatter(
            show_locals=False, color_system="truecolor" if colors else None
        )
    return structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=formatter)


def _redact_event(
    _logger: Any, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Mask registered secrets in every fact of an event (see :mod:`syncd.redact`)."""
    if not redact.registered():
        return event_dict
    masked: structlog.types.EventDict = redact.redact_value(event_dict)
    return masked


def _redacting(renderer: structlog.types.Processor) -> structlog.types.Processor:
    """``renderer``, its output masked: it may add a traceback of its own."""

    def render(logger: Any, method: str, event_dict: structlog.types.EventDict) -> Any:
        out = renderer(logger, method, event_dict)
        return redact.redact(out) if isinstance(out, str) else out

    return render


def _install_excepthooks() -> None:
    """Uncaught exceptions (main thread or others) print masked, without local variables."""

    def report(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        sys.stderr.write(redact.redact(text))

    def thread_report(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None and args.exc_type is not SystemExit:
            report(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = report
    threading.excepthook = thread_report
