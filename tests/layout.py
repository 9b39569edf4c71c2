"""The import graph of syncd, read from the source: modules, the wings they sit in, their imports.

``syncd/connectors`` and ``syncd/migrations`` are links to the top-level folders; here they are
read once, from the folders, under their one import name (``syncd.connectors...``). Lazy imports
inside functions count as much as those at the top of a module: they are dependencies too.

``python -m tests.layout`` prints the graph between wings (``--dot`` for Graphviz).
"""

from __future__ import annotations

import argparse
import ast
import collections
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {
    "syncd": ROOT / "syncd",
    "syncd.connectors": ROOT / "connectors",
    "syncd.migrations": ROOT / "migrations",
}


def modules() -> Iterator[tuple[str, Path]]:
    """Every module of the product as (dotted name, file), links read once."""
    for prefix, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(folder)
            if prefix == "syncd" and relative.parts[0] in {"connectors", "migrations"}:
                continue  # the links: read from their folders instead
            if "versions" in relative.parts:
                continue  # Alembic revisions are data, loaded by path
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join([prefix, *parts]), path


def wing(module: str) -> str:
    """The wing of a dotted module name: ``sync``, ``connectors.markdown``, ``cli``..."""
    parts = module.split(".")
    if len(parts) == 1:
        return "syncd"
    if parts[1] == "connectors" and len(parts) > 2:
        return f"connectors.{parts[2]}"
    return parts[1]


def imports(path: Path) -> Iterator[str]:
    """The dotted names a module imports, top-level and lazy alike (``from x import y``: x.y)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def edges() -> dict[tuple[str, str], set[str]]:
    """Imports between wings: (from wing, to wing) -> the importing modules."""
    graph: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
    names = {name for name, _ in modules()}
    for name, path in modules():
        for imported in imports(path):
            if not imported.startswith("syncd."):
                continue
            # `from syncd import log`: the module syncd.log, not the package syncd.
            target = imported
            while target not in names and "." in target:
                target = target.rsplit(".", 1)[0]
            if wing(target) != wing(name) and target != "syncd":
                graph[(wing(name), wing(target))].add(name)
    return graph


def main() -> None:
    """Print the graph between wings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dot", action="store_true", help="Graphviz instead of text")
    dot = parser.parse_args().dot
    graph = edges()
    if dot:
        print("digraph syncd {")
    for (source, target), importers in sorted(graph.items()):
        if dot:
            print(f'  "{source}" -> "{target}" [label={len(importers)}];')
        else:
            print(f"{source:24} -> {target:24} ({', '.join(sorted(importers))})")
    if dot:
        print("}")


if __name__ == "__main__":
    main()
