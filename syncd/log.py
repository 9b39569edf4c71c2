"""Logging: structlog configured once, for our events and third-party stdlib loggers alike.

Events are short dotted names (``sync.finished``, ``publish.retry``) with facts as key-values.
On a terminal they render as coloured console lines; otherwise (containers, CronJobs, pipes)
as one JSON object per line, which log collectors parse without help. Records of stdlib
loggers (alembic, apscheduler, httpx, uvicorn) pass through the same processors, so a run's
output has one format.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

LogFormat = Literal["json", "console"]

_NOISY = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "alembic": logging.WARNING,
    "apscheduler": logging.WARNING,
}


def configure(level: str = "info", fmt: LogFormat | None = None) -> None:
    """Route structlog and stdlib logging to stderr in one format."""
    if fmt is None:
        fmt = "console" if sys.stderr.isatty() else "json"
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
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
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
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    numeric = logging.getLevelName(level.upper())
    root.setLevel(numeric if isinstance(numeric, int) else logging.INFO)
    for name, floor in _NOISY.items():
        # Per-request lines from httpx would drown the run's own events at INFO.
        logging.getLogger(name).setLevel(max(floor, root.level))
