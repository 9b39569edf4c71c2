"""POST /hooks/<source> over real HTTP, and how requests coalesce into runs."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pydantic
import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from syncd.config.loading import ServerConfig
from syncd.connectors.base import ChangeSet
from syncd.daemon.scheduler import Daemon
from syncd.daemon.triggers.gate import RunGate
from syncd.errors import ConfigError
from tests.daemon.conftest import RecordingJob, make_source, wait_until

SECRET = "hook-secret-0123456789"
StartDaemon = Callable[..., Daemon]


def start_with_hooks(sources: list[str], job: RecordingJob, secret: str | None = SECRET) -> Daemon:
    """A daemon serving on a free loopback port with the given hook secret."""
    server = ServerConfig(host="127.0.0.1", port=0, hook_secret=secret)
    daemon = Daemon([make_source(name) for name in sources], job, server=server, jitter=0)
    daemon.start()
    return daemon


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Daemons the test started; stopped at its end."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.stop.set()
        daemon.wait()


def settled(job: RecordingJob, runs: int) -> None:
    """Wait until ``runs`` runs happened and ended."""
    wait_until(lambda: len([c for c in job.runs() if c.ended]) >= runs, timeout=10)


def test_a_bearer_token_gets_a_run_at_once(daemons: list[Daemon]) -> None:
    """A call with the right Bearer token answers 202 and runs the source right away."""
    job = RecordingJob()
    daemons.append(daemon := start_with_hooks(["handbook"], job))
    settled(job, 1)
    labels = {"source": "handbook", "trigger": "hook"}
    before = REGISTRY.get_sample_value("syncd_triggers_total", labels) or 0.0
    response = httpx.post(
        f"{daemon.url}/hooks/handbook", headers={"Authorization": f"Bearer {SECRET}"}
    )
    assert response.status_code == 202, response.text
    settled(job, 2)
    assert REGISTRY.get_sample_value("syncd_triggers_total", labels) == before + 1


def test_github_and_gitlab_proofs_are_accepted(daemons: list[Daemon]) -> None:
    """A GitHub HMAC signature of the body and a GitLab token each get a run."""
    job = RecordingJob()
    daemons.append(daemon := start_with_hooks(["handbook"], job))
    settled(job, 1)
    body = b'{"ref": "refs/heads/main"}'
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    github = httpx.post(
        f"{daemon.url}/hooks/handbook",
        content=body,
        headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": "push"},
    )
    assert github.status_code == 202, github.text
    settled(job, 2)
    gitlab = httpx.post(f"{daemon.url}/hooks/handbook", headers={"X-Gitlab-Token": SECRET})
    assert gitlab.status_code == 202, gitlab.text
    settled(job, 3)


def standard_signature(key: bytes, delivery: str, stamp: int, body: bytes) -> str:
    """The webhook-signature header a Standard Webhooks sender (GitLab) computes."""
    signed = hmac.new(key, f"{delivery}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(signed).decode()


def test_gitlab_signing_token_signatures_are_checked(daemons: list[Daemon]) -> None:
    """A Standard Webhooks signature with a whsec_ key is accepted; an old or bad one is not."""
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    job = RecordingJob()
    daemons.append(daemon := start_with_hooks(["handbook"], job, secret=secret))
    settled(job, 1)
    body = b'{"object_kind": "push"}'
    now = int(time.time())

    def post(stamp: int, signature: str) -> int:
        headers = {
            "webhook-id": "msg_1",
            "webhook-timestamp": str(stamp),
            "webhook-signature": f"v1,bm90LXRoaXMtb25l {signature}",
        }
        return httpx.post(f"{daemon.url}/hooks/handbook", content=body, headers=headers).status_code

    assert post(now, standard_signature(key, "msg_1", now, body)) == 202
    settled(job, 2)
    old = now - 3600
    assert post(old, standard_signature(key, "msg_1", old, body)) == 401  # a replay, later
    assert post(now, standard_signature(b"another key", "msg_1", now, body)) == 401
    assert len(job.runs()) == 2


def test_github_ping_answers_without_a_run(daemons: list[Daemon]) -> None:
    """GitHub's ping event (sent when the webhook is made) is answered and runs nothing."""
    job = RecordingJob()
    daemons.append(daemon := start_with_hooks(["handbook"], job))
    settled(job, 1)
    body = b'{"zen": "Keep it logically awesome."}'
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = httpx.post(
        f"{daemon.url}/hooks/handbook",
        content=body,
        headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": "ping"},
    )
    assert response.status_code == 200
    assert response.text == "pong\n"
    assert len(job.runs()) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-secret-0123456789"},
        {"Authorization": f"Basic {SECRET}"},
        {"X-Gitlab-Token": "wrong-secret-0123456789"},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
    ],
    ids=["none", "wrong-bearer", "not-bearer", "wrong-gitlab", "wrong-signature"],
)
def test_a_wrong_or_missing_secret_is_refused_and_logged_without_it(
    daemons: list[Daemon], headers: dict[str, str]
) -> None:
    """401, no run, and a hooks.refused log line that holds neither secret."""
    job = RecordingJob()
    daemons.append(daemon := start_with_hooks(["handbook"], job))
    settled(job, 1)
    before = REGISTRY.get_sample_value("syncd_hooks_refused_total") or 0.0
    with capture_logs() as logs:
        response = httpx.post(f"{daemon.url}/hooks/handbook", headers=headers)
    assert response.status_code == 401
    assert REGISTRY.get_sample_value("syncd_hooks_refused_total") == before + 1
    refused = [entry for entry in logs if entry["event"] == "hooks.refused"]
    assert len(refused) == 1
    assert refused[0]["source"] == "handbook"
    shown = repr(logs)
    assert SECRET not in shown
    assert "wrong-secret" not in shown
    assert len(job.runs()) == 1


def test_an_unknown_source_is_404_only_after_authentication(daemons: list[Daemon]) -> None:
    """Strangers get 401 for any name; an authenticated call for an unknown source gets 404."""
    job = RecordingJob()
    daemons.append(daemon := start_with_hooks(["handbook"], job))
    assert httpx.post(f"{daemon.url}/hooks/nope").status_code == 401
    response = httpx.post(f"{daemon.url}/hooks/nope", headers={"X-Gitlab-Token": SECRET})
    assert response.status_code == 404


def test_without_a_secret_there_is_no_hook_endpoint(daemons: list[Daemon]) -> None:
    """With server.hook_secret unset, /hooks/<source> does not exist."""
    job = RecordingJob()
    daemons.append(daemon := start_with_hooks(["handbook"], job, secret=None))
    response = httpx.post(
        f"{daemon.url}/hooks/handbook", headers={"Authorization": f"Bearer {SECRET}"}
    )
    assert response.status_code == 404


def test_calls_during_a_run_coalesce_into_one_follow_up(daemons: list[Daemon]) -> None:
    """Ten calls during a run give exactly one more run, never two at once."""
    job = RecordingJob(duration=0.0)
    daemons.append(daemon := start_with_hooks(["handbook"], job))
    settled(job, 1)
    # The run in flight lasts until all ten calls are in, however slow the machine is.
    release = threading.Event()

    def hold(source: str) -> None:
        release.wait(10)

    job.on_run = hold
    auth = {"Authorization": f"Bearer {SECRET}"}
    assert httpx.post(f"{daemon.url}/hooks/handbook", headers=auth).status_code == 202
    wait_until(lambda: job.active == 1)
    for _ in range(10):
        assert httpx.post(f"{daemon.url}/hooks/handbook", headers=auth).status_code == 202
    release.set()
    settled(job, 3)
    assert not daemon.stop.wait(1.5)  # time for a wrong fourth run to show up
    assert len(job.runs()) == 3
    assert job.max_active == 1


def test_named_changes_merge_and_a_full_request_wins() -> None:
    """The gate merges change sets during a run; a full request absorbs named ones."""
    gate = RunGate()
    assert gate.enter("a", ChangeSet(frozenset({"x.md"})))
    assert not gate.enter("a", ChangeSet(frozenset({"y.md"}), frozenset({"z.md"})))
    assert not gate.enter("a", ChangeSet(frozenset({"x.md"})))
    follow = gate.next("a")
    assert follow == ChangeSet(frozenset({"x.md", "y.md"}), frozenset({"z.md"}))
    assert not gate.enter("a", ChangeSet(frozenset({"w.md"})))
    assert not gate.enter("a", ChangeSet(everything=True))
    assert gate.next("a") == ChangeSet(everything=True)
    assert gate.next("a") is None
    assert gate.enter("a", ChangeSet(frozenset({"v.md"})))


def test_a_triggered_run_gets_the_change_set(daemons: list[Daemon]) -> None:
    """Daemon.request hands the job the named changes; an empty change set runs nothing."""
    seen: list[ChangeSet | None] = []
    done = threading.Event()

    def job(
        source: str,
        stop: threading.Event,
        changes: ChangeSet | None = None,
        *,
        tick: dt.datetime | None = None,
    ) -> None:
        seen.append(changes)
        done.set()

    daemon = Daemon([make_source("handbook")], job, jitter=0)
    daemon.start()
    daemons.append(daemon)
    wait_until(lambda: len(seen) == 1)
    daemon.request("handbook", ChangeSet(), "test")
    named = ChangeSet(frozenset({"guide.md"}))
    daemon.request("handbook", named, "test")
    wait_until(lambda: len(seen) == 2)
    assert seen == [None, named]


def test_a_short_hook_secret_is_refused_at_start() -> None:
    """A hook secret under 16 characters is refused by the configuration itself (every
    command; see tests/config), and by the daemon again should one get that far."""
    with pytest.raises(pydantic.ValidationError, match="at least 16 characters"):
        ServerConfig(host="127.0.0.1", port=0, hook_secret="short")
    server = ServerConfig.model_construct(
        host="127.0.0.1", port=0, hook_secret=pydantic.SecretStr("short")
    )
    with pytest.raises(ConfigError, match=r"server\.hook_secret"):
        Daemon([make_source("handbook")], RecordingJob(), server=server)


def test_a_confluence_webhook_runs_the_page_it_names(daemons: list[Daemon]) -> None:
    """Data Center's X-Hub-Signature (with or without sha256=) names a page: a run of it alone.

    A retried delivery (same X-Atlassian-Webhook-Identifier) runs nothing; a wrong signature
    and a SHA-1 one are refused.
    """
    seen: list[ChangeSet | None] = []

    def job(
        source: str,
        stop: threading.Event,
        changes: ChangeSet | None = None,
        *,
        tick: dt.datetime | None = None,
    ) -> None:
        seen.append(changes)

    server = ServerConfig(host="127.0.0.1", port=0, hook_secret=SECRET)
    daemon = Daemon([make_source("wiki")], job, server=server, jitter=0)
    daemon.start()
    daemons.append(daemon)
    wait_until(lambda: len(seen) == 1)
    body = b'{"timestamp": 1768246501113, "event": "page_updated", "page": {"id": 1015809}}'
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    url = f"{daemon.url}/hooks/wiki"
    for number, signature in enumerate([digest, f"sha256={digest}"]):
        headers = {"X-Hub-Signature": signature, "X-Atlassian-Webhook-Identifier": f"d{number}"}
        answer = httpx.post(url, content=body, headers=headers)
        assert answer.status_code == 202, answer.text
        wait_until(lambda n=number: len(seen) == n + 2)  # type: ignore[misc]
    named = frozenset({"1015809"})
    assert seen[1:] == [ChangeSet(named, named), ChangeSet(named, named)]
    again = httpx.post(
        url,
        content=body,
        headers={"X-Hub-Signature": digest, "X-Atlassian-Webhook-Identifier": "d1"},
    )
    assert again.status_code == 200
    assert again.text == "duplicate\n"
    sha1 = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    for wrong in (sha1, digest[:-1] + "0" if digest[-1] != "0" else digest[:-1] + "1"):
        answer = httpx.post(url, content=body, headers={"X-Hub-Signature": wrong})
        assert answer.status_code == 401
    space = b'{"event": "space_updated", "space": {"key": "ENG"}}'
    signature = hmac.new(SECRET.encode(), space, hashlib.sha256).hexdigest()
    assert httpx.post(url, content=space, headers={"X-Hub-Signature": signature}).status_code == 202
    wait_until(lambda: len(seen) == 4)
    assert seen[3] is None  # a full run: the payload names no page
    time.sleep(0.3)
    assert len(seen) == 4
