"""No-op syncs inside one resident process, as the daemon (``syncd run``) makes them.

The process loads the configuration and opens the state database once, makes one warm-up
sync, then times ``REPEAT`` more with ``time.perf_counter`` and prints them as JSON: the cost
of a scheduled tick once start-up is paid, which a one-shot ``syncd sync`` pays every time.

Usage: python -m bench.resident CONFIG [REPEAT]
"""

from __future__ import annotations

import json
import sys
import time

from syncd.app import App
from syncd.config.loading import load_config
from syncd.log import configure


def main() -> None:
    """Time the no-op syncs and print their wall times in seconds."""
    config_path, repeat = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5
    configure(level="warning", fmt="json")
    walls: list[float] = []
    with App.open(load_config(config_path)) as app:
        app.sync()
        for _ in range(repeat):
            started = time.perf_counter()
            outcome = app.sync()
            walls.append(time.perf_counter() - started)
            assert outcome.exit_code == 0, outcome
    print(json.dumps(walls))


if __name__ == "__main__":
    main()
