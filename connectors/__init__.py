"""Connectors: one module per kind of source, each implementing :mod:`syncd.connectors.base`.

This folder is linked into the package as ``syncd/connectors``, so the wheel ships one
top-level package and installs beside PyPI projects named ``connectors``. Its one import name
is ``syncd.connectors``: imported as ``connectors`` (from the repository root) it would load a
second time, and its classes would not be the package's.
"""

if __name__ != "syncd.connectors":
    raise ImportError(f"import syncd.connectors, not {__name__}: the connectors have one name")
