"""The walk of one run: which modules of the sync engine a run of one source enters, in order.

A source of four documents is synced once into the Intercom stand-in; the run walked then
finds one changed, one new (plus ``--new`` more), one gone and one unchanged. A profiler hook
on the run's thread notes each change of module among ``syncd/sync``, ``state/tracker.py``
and ``state/freshness.py`` (into a module, or back to it from a call), so "returns to
engine.py" counts how often control comes back to the engine. Writes are sent on the pool's
threads, but recorded on the run's thread, so every record is in the walk.

    python -m bench.walk [--new N] [--verbose]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

from syncd.sandbox import SandboxServer, SandboxSettings
from syncd.state import database
from tests.engine_harness import TOKEN, Harness
from tests.fakes import MemoryDoc

ROOT = Path(__file__).resolve().parent.parent / "syncd"
WALKED = ("sync/", "state/tracker.py", "state/freshness.py")
_GENERATOR = 0x20  # inspect.CO_GENERATOR: a resumed generator is not a new entry


def module(filename: str) -> str | None:
    """The walked module a code file is, relative to syncd/; None for any other."""
    try:
        relative = Path(filename).resolve().relative_to(ROOT.resolve()).as_posix()
    except ValueError:
        return None
    return relative if relative.startswith(WALKED) else None


def walk(new: int) -> list[tuple[str, str]]:
    """The (module, function or '<back>') changes of module during the run walked."""
    with tempfile.TemporaryDirectory() as folder:
        engine, sessions = database.open_database(f"sqlite:///{folder}/state.db")
        try:
            with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as sandbox:
                h = Harness(sandbox, sessions, name="walk")
                h.connector.docs.update(
                    {f"d{i}": MemoryDoc(f"T{i}", f"body {i}") for i in range(4)}
                )
                h.sync()
                h.connector.docs["d0"] = MemoryDoc("T0", "changed", version=2)
                h.connector.docs["d9"] = MemoryDoc("T9", "new")
                h.connector.docs.update({f"n{i}": MemoryDoc(f"N{i}", "new") for i in range(new)})
                del h.connector.docs["d3"]
                steps: list[tuple[str, str]] = []
                stack: list[str | None] = []
                generators: dict[int, types.FrameType] = {}  # kept alive: ids are not reused

                def current() -> str | None:
                    return next((m for m in reversed(stack) if m is not None), None)

                def profile(frame: types.FrameType, event: str, arg: Any) -> None:
                    if event == "call":
                        name = module(frame.f_code.co_filename)
                        stack.append(name)
                        resumed = id(frame) in generators
                        if frame.f_code.co_flags & _GENERATOR:
                            generators[id(frame)] = frame
                        last = steps[-1][0] if steps else None
                        if name is not None and not resumed and name != last:
                            steps.append((name, frame.f_code.co_name))
                    elif event == "return":
                        if stack:
                            stack.pop()
                        name = current()
                        if name is not None and steps and name != steps[-1][0]:
                            steps.append((name, "<back>"))

                sys.setprofile(profile)
                try:
                    report = h.sync()
                finally:
                    sys.setprofile(None)
        finally:
            engine.dispose()
    counts = (report.created, report.updated, report.deleted, report.unchanged)
    assert counts == (1 + new, 1, 1, 2), report
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", type=int, default=0, help="more new documents in the run")
    parser.add_argument("--verbose", action="store_true", help="print every step")
    args = parser.parse_args()
    steps = walk(args.new)
    if args.verbose:
        for name, function in steps:
            print(f"{name:24} {function}")
    visits = collections.Counter(name for name, _ in steps)
    print(f"returns to engine.py: {visits['sync/engine.py']}; changes of module: {len(steps)}")
    for name, count in visits.most_common():
        print(f"  {count:4}  {name}")


if __name__ == "__main__":
    main()
