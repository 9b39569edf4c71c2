"""Cost of masking secrets in log lines: the same JSON log events with and without secrets.

    nice .venv/bin/python -m bench.redaction [EVENTS]

Configures syncd's logging (JSON, to a null stream) and logs EVENTS debug events shaped like
a run's per-document lines, first with no secret registered (the masking processors return
at once), then with four registered (a token, a database password, a wiki password, a hook
secret: each with its escaped forms). Rounds alternate so that machine load hits both alike;
the ratio of the medians is the figure to read.
"""

from __future__ import annotations

import io
import logging
import statistics
import sys
import time

from syncd import log, redact


def run_once(events: int) -> float:
    logger = log.get_logger("bench")
    started = time.perf_counter()
    for i in range(events):
        logger.debug("document.updated", source="handbook", ref=f"guide/page-{i}.md", page=str(i))
    return time.perf_counter() - started


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    log.configure("debug", "json")
    sink = io.StringIO()
    for handler in logging.getLogger().handlers:
        handler.emit = lambda record, h=handler: sink.write(h.format(record))  # type: ignore[method-assign]
    secrets = ["tok_a1B2c3D4e5F6g7H8i9J0", "pg-pass-Zq9!x", "wiki bot pässword", "hook-Sec-42"]
    bare, masked = [], []
    for _ in range(5):
        redact._forms = ()  # the bench switches masking off between rounds
        bare.append(run_once(events))
        redact.register(*secrets)
        masked.append(run_once(events))
        sink.seek(0)
        sink.truncate()
    b, m = statistics.median(bare), statistics.median(masked)
    print(f"{events} events, 5 rounds each")
    print(f"no secret registered: {', '.join(f'{t * 1e6 / events:.1f}' for t in bare)} us/event")
    print(f"4 secrets registered: {', '.join(f'{t * 1e6 / events:.1f}' for t in masked)} us/event")
    print(f"median {b * 1e6 / events:.1f} -> {m * 1e6 / events:.1f} us/event, ratio {m / b:.2f}")


if __name__ == "__main__":
    main()
