"""``python -m syncd``: the same entry point as the ``syncd`` command."""

from syncd.cli import main

if __name__ == "__main__":
    main()
