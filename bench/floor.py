"""The floor of a no-op sync: walk a tree, read every Markdown file and SHA-256 it.

Prints the number of files and one digest over all of them (so the work cannot be skipped).

Usage: python bench/floor.py FOLDER
"""

from __future__ import annotations

import hashlib
import os
import sys


def main() -> None:
    """Hash every ``.md`` file under the folder given."""
    total = hashlib.sha256()
    count = 0
    for folder, dirs, files in os.walk(sys.argv[1]):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".md"):
                with open(os.path.join(folder, name), "rb") as handle:  # noqa: PTH123, PTH118
                    total.update(hashlib.sha256(handle.read()).digest())
                count += 1
    print(count, total.hexdigest())


if __name__ == "__main__":
    main()
