"""The engine tests' in-memory connector keeps the same contract as the real ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from syncd.connectors.base import Connector
from tests.connectors.contract import ConnectorContract
from tests.fakes import MemoryConnector, MemoryDoc


class TestMemoryContract(ConnectorContract):
    """The fake the engine tests sync from, checked like any connector (as vdirsyncer does)."""

    lookup = True

    @pytest.fixture
    def connector(self) -> Iterator[Connector]:
        docs = {
            "a": MemoryDoc("Alpha", "# Alpha\n\nText."),
            "b": MemoryDoc("Beta", "Beta text.", external_id="beta"),
            "c": MemoryDoc("Draft", "Not yet.", draft=True),
        }
        with MemoryConnector(docs) as connector:
            yield connector
