"""What every benchmark shares: the machine, corpora, the sandbox process, timed syncd runs.

corpus
    Generated into a temporary folder by each script and removed afterwards; nothing is
    committed. Markdown pages are small articles (front matter, headings, a list, a table,
    links), 100 to a folder.
sandbox
    :class:`Sandbox` runs ``bench/sandbox_proc.py`` as a separate process, so its CPU never
    counts as syncd's; its stdin/stdout carry the stats commands.
syncd run
    :func:`run_syncd` starts ``python -m syncd ... sync --json`` as a child process and reads
    its wall time, CPU time and peak RSS from ``wait4`` (the kernel's own accounting for that
    one process). syncd's modules are compiled to bytecode first, as installing the wheel
    does: with ``PYTHONDONTWRITEBYTECODE`` set (as in the container image), a run from the
    repository would otherwise compile every module it imports, every time.
"""

from __future__ import annotations

import compileall
import dataclasses
import datetime as dt
import functools
import json
import os
import platform
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TOKEN = "bench"
SOURCE_URL = "https://docs.example.com"


def machine() -> dict[str, str]:
    """The facts every figure is reported with."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
    }


# -- corpora -------------------------------------------------------------------------------

_WORDS = [
    "account",
    "billing",
    "invoice",
    "login",
    "password",
    "reset",
    "team",
    "admin",
    "export",
    "import",
    "report",
    "dashboard",
    "webhook",
    "token",
    "region",
    "workspace",
    "article",
    "customer",
    "ticket",
    "inbox",
    "macro",
    "rule",
    "trigger",
    "sla",
]


def markdown_page(index: int, *, revision: int = 0, words: int = 120) -> str:
    """One generated article; ``revision`` changes its text."""
    rng = random.Random(index * 7919 + revision)
    para = " ".join(rng.choice(_WORDS) for _ in range(words))
    items = "\n".join(f"- {rng.choice(_WORDS)} {rng.choice(_WORDS)}" for _ in range(5))
    return (
        f"---\ntitle: Article {index} r{revision}\ntags: [bench]\n---\n\n"
        f"Intro paragraph for article {index}: {para}\n\n"
        f"## Steps\n\n{items}\n\n"
        "| Setting | Value |\n|---|---|\n"
        f"| region | {rng.choice(_WORDS)} |\n| plan | {rng.choice(_WORDS)} |\n\n"
        f"See [the next article](article-{index + 1}.md) and <https://example.com/{index}>.\n"
    )


def page_path(root: Path, index: int) -> Path:
    """Where article ``index`` lives: 100 pages to a folder."""
    return root / f"section-{index // 100:04d}" / f"article-{index}.md"


def write_markdown_tree(root: Path, count: int, *, words: int = 120) -> None:
    """Write ``count`` articles under ``root``."""
    for index in range(count):
        path = page_path(root, index)
        if index % 100 == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(markdown_page(index, words=words), encoding="utf-8")


# -- the sandbox process -------------------------------------------------------------------


class Sandbox:
    """``bench/sandbox_proc.py`` in a child process; a context manager."""

    def __init__(self, **settings: float | int | None) -> None:
        self.args = [PYTHON, str(ROOT / "bench" / "sandbox_proc.py")]
        for key, value in settings.items():
            if value is not None:
                self.args += [f"--{key.replace('_', '-')}", str(value)]
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(
            self.args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.url = self._readline()
        return self

    def _readline(self) -> str:
        assert self._process is not None
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox process ended")
        return line.strip()

    def command(self, name: str) -> Any:
        """Send one command; return its decoded JSON answer."""
        assert self._process is not None
        assert self._process.stdin is not None
        self._process.stdin.write(name + "\n")
        self._process.stdin.flush()
        return json.loads(self._readline())

    @property
    def pid(self) -> int:
        """The sandbox process id."""
        assert self._process is not None
        return self._process.pid

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the sandbox process used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


# -- configuration and runs ----------------------------------------------------------------


def write_config(
    folder: Path,
    sandbox_url: str,
    sources: list[dict[str, Any]],
    *,
    max_concurrency: int = 8,
    default_lease: bool = False,
) -> Path:
    """A syncd configuration (JSON is YAML) with a SQLite state DB in ``folder``.

    ``default_lease`` keeps the lease settings at their defaults (2-minute ttl).
    """
    state: dict[str, Any] = {"url": f"sqlite:///{folder / 'state.db'}"}
    if not default_lease:
        # A short lease TTL, from when a restart after SIGKILL had to wait for it.
        state.update({"lease_ttl": "2s", "lease_wait": "30s"})
    config = {
        "intercom": {"token": TOKEN, "base_url": sandbox_url, "max_concurrency": max_concurrency},
        "state": state,
        "sources": sources,
    }
    path = folder / "syncd.yaml"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def markdown_source(path: Path, *, name: str = "docs") -> dict[str, Any]:
    """A markdown source entry for :func:`write_config`."""
    return {
        "name": name,
        "connector": "markdown",
        "url": SOURCE_URL,
        "max_delete_fraction": 0.5,
        "options": {"path": str(path), "base_url": SOURCE_URL + "/"},
    }


@dataclasses.dataclass
class Run:
    """One finished (or killed) syncd process."""

    returncode: int
    wall: float
    user: float
    system: float
    max_rss_mb: float
    stdout: str
    stderr: str

    @property
    def cpu(self) -> float:
        """User plus system CPU seconds."""
        return self.user + self.system

    def report(self) -> dict[str, Any]:
        """The first source's report from ``sync --json`` output."""
        data: dict[str, Any] = json.loads(self.stdout)
        source: dict[str, Any] = data["sources"][0]
        return source


def _wait(
    process: subprocess.Popen[bytes],
    started: float,
    kill_after: float | None = None,
    kill_when: Callable[[], bool] | None = None,
) -> tuple[int, float, Any]:
    """Reap the process; SIGKILL it first once ``kill_after`` seconds passed or ``kill_when``
    says so (polled every 5 ms)."""
    if kill_after is not None or kill_when is not None:
        # Polling keeps the pid ours until it is reaped, so the kill cannot hit another process.
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid != 0:
                break
            if (kill_after is not None and time.monotonic() - started >= kill_after) or (
                kill_when is not None and kill_when()
            ):
                os.kill(process.pid, signal.SIGKILL)
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.005)
    else:
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, wall, usage


@functools.cache
def compile_syncd() -> None:
    """Compile syncd's modules to bytecode once, as installing the wheel does."""
    # The connectors are a linked folder, which compile_dir does not enter.
    for package in ("syncd", "connectors"):
        compileall.compile_dir(ROOT / package, quiet=1)


def run_syncd(
    config: Path,
    *args: str,
    kill_after: float | None = None,
    kill_when: Callable[[], bool] | None = None,
    log_dir: Path | None = None,
) -> Run:
    """Run ``syncd --config CONFIG sync --json ARGS``; SIGKILL it after ``kill_after`` s or
    when ``kill_when`` returns true."""
    compile_syncd()
    log_dir = log_dir or config.parent
    out_path, err_path = log_dir / "syncd.out", log_dir / "syncd.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.monotonic()
        process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "syncd",
                "--log-format",
                "json",
                "--config",
                str(config),
                "sync",
                "--json",
                *args,
            ],
            stdout=out,
            stderr=err,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        code, wall, usage = _wait(process, started, kill_after, kill_when)
    return Run(
        returncode=code,
        wall=wall,
        user=usage.ru_utime,
        system=usage.ru_stime,
        max_rss_mb=usage.ru_maxrss / 1024,
        stdout=out_path.read_text(encoding="utf-8", errors="replace"),
        stderr=err_path.read_text(encoding="utf-8", errors="replace"),
    )


def run_timed(argv: list[str]) -> tuple[float, float, str]:
    """Run a plain command; (wall seconds, CPU seconds, stdout)."""
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, cwd=ROOT)
    stdout: IO[bytes] | None = process.stdout
    assert stdout is not None
    output = stdout.read()
    _, wall, usage = _wait(process, started)
    return wall, usage.ru_utime + usage.ru_stime, output.decode()


def emit(name: str, result: dict[str, Any]) -> None:
    """Print a result as one JSON line tagged with the machine facts."""
    print(json.dumps({"bench": name, "machine": machine(), **result}, indent=2), flush=True)
