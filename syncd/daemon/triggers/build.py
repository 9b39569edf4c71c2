"""Which change trigger each watched source gets, from what its connector can tell."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import structlog

from syncd.config.loading import SourceConfig
from syncd.connectors.base import Connector
from syncd.daemon.triggers.base import Trigger

log = structlog.get_logger(__name__)


def build_triggers(
    sources: Sequence[SourceConfig], connector: Callable[[SourceConfig], Connector]
) -> list[Trigger]:
    """A trigger per source with ``schedule.watch``: a folder watch, else a change poll.

    ``connector`` builds a source's connector; each trigger keeps its own for its lifetime. A
    watched source whose connector can neither is logged and left to its schedule and hooks.
    """
    from syncd.daemon.triggers.poll import ChangePoll
    from syncd.daemon.triggers.watch import FolderWatch

    triggers: list[Trigger] = []
    for source in sources:
        if not source.schedule.watch:
            continue
        poll = source.schedule.poll.total_seconds()
        reader = connector(source)
        if reader.watch_root() is not None:
            reader.close()
            make = functools.partial(connector, source)
            polling = source.schedule.watch == "poll"
            triggers.append(FolderWatch(source.name, make, retry=poll, polling=polling))
        elif reader.can_poll():
            triggers.append(ChangePoll(source.name, reader, interval=poll))
        else:
            reader.close()
            log.warning(
                "trigger.unsupported",
                source=source.name,
                connector=source.connector,
                hint="synced on its schedule and by POST /hooks/<source> only",
            )
    return triggers
