"""Signals, in a real process: the first stops cleanly, a second exits at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A daemon with one source whose job works in steps and watches the stop event ("polite"),
# or ignores it ("stubborn"); it prints when its run starts and ends.
DAEMON_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import structlog
    from syncd.config.loading import Schedule, SourceConfig
    from syncd.daemon.scheduler import Daemon

    mode, grace = sys.argv[1], float(sys.argv[2])
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))

    def job(source, stop, *, tick=None):
        print("running", flush=True)
        if mode == "stubborn":
            time.sleep(60)
        while not stop.is_set():
            time.sleep(0.01)
        time.sleep(0.2)  # the document in flight
        print("finished", flush=True)

    source = SourceConfig(
        name="handbook", connector="markdown", url="https://docs.example.com",
        schedule=Schedule(interval="1h"),
    )
    sys.exit(Daemon([source], job, jitter=0, grace=grace).run())
    """
)


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[type[subprocess.Popen[str]]]:
    """Start the daemon script; yields a function returning the process once its run began."""
    script = tmp_path / "daemon.py"
    script.write_text(DAEMON_SCRIPT, encoding="utf-8")
    processes: list[subprocess.Popen[str]] = []
    log = (tmp_path / "stderr.log").open("a", encoding="utf-8")

    def start(mode: str, grace: float = 30.0) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(
            [sys.executable, str(script), mode, str(grace)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        processes.append(process)
        assert process.stdout is not None
        assert process.stdout.readline() == "running\n"
        return process

    yield start  # type: ignore[misc]
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    log.close()


def finish(process: subprocess.Popen[str], within: float) -> tuple[int, str, float]:
    """Wait for the process; its exit code, the rest of its output and the time it took."""
    started = time.monotonic()
    out, _ = process.communicate(timeout=within)
    return process.returncode, out, time.monotonic() - started


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_first_signal_finishes_the_run_and_exits_zero(spawn, signum: signal.Signals) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM or SIGINT lets the run in flight end, then the daemon exits 0."""
    process = spawn("polite")
    process.send_signal(signum)
    code, out, took = finish(process, within=10)
    assert code == 0
    assert out == "finished\n"
    assert took < 5


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_second_signal_exits_at_once(spawn, signum: signal.Signals, code: int) -> None:  # type: ignore[no-untyped-def]
    """A second signal during the grace period exits at once with 128 + its number."""
    process = spawn("stubborn")
    process.send_signal(signum)
    time.sleep(0.5)
    process.send_signal(signum)
    returncode, out, took = finish(process, within=10)
    assert returncode == code
    assert out == ""
    assert took < 2


def test_a_run_outliving_the_grace_period_does_not_hold_the_process(spawn) -> None:  # type: ignore[no-untyped-def]
    """When the grace period ends with a run still going, the process exits 1 anyway."""
    process = spawn("stubborn", grace=0.5)
    process.send_signal(signal.SIGTERM)
    code, _, took = finish(process, within=10)
    assert code == 1
    assert took < 3
