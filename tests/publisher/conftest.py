"""A sandbox on 127.0.0.1, a publisher pointed at it, and payload helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client import REGISTRY

from syncd.publisher import Publisher
from syncd.render.content import Payload
from syncd.sandbox import SandboxServer, SandboxSettings


def payload(external_id: str, *, title: str = "Title", url: str | None = None) -> Payload:
    """A small page payload."""
    return Payload(
        external_id=external_id,
        title=title,
        html=f"<p>Body of {external_id}</p>",
        url=url,
        ai_agent_availability=True,
        ai_copilot_availability=False,
    )


def metric(name: str, **labels: str) -> float:
    """The current value of one syncd metric sample (0 when never set)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


class DropAnswers(httpx.BaseTransport):
    """A transport that forwards requests but loses the answers of the chosen ones.

    It stands for the network between syncd and Intercom: the request is handled by the
    server, and the client sees a connection closed without an answer.
    """

    def __init__(self, inner: httpx.BaseTransport, lose: Callable[[httpx.Request], bool]) -> None:
        self.inner = inner
        self.lose = lose

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.lose(request):
            response.read()
            response.close()
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return response

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox with default settings and a fixed seed, running for one test."""
    with SandboxServer(SandboxSettings(seed=11)) as server:
        yield server


@pytest.fixture
def publisher(sandbox: SandboxServer) -> Iterator[Publisher]:
    """A publisher for the sandbox with short retry bounds."""
    with Publisher(base_url=sandbox.url, token="sandbox", max_attempts=5) as client:
        yield client


@pytest.fixture
def source_id(sandbox: SandboxServer) -> int:
    """An API content import source in the sandbox."""
    return int(sandbox.store.create_source(url="https://docs.example.com")["id"])
