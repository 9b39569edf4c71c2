"""The Confluence XML connector on a large generated site backup: peak RSS and time per page.

Generates a site backup zip (``entities.xml`` + descriptor) of N current pages in 10 spaces,
each page with ``--history`` historical versions (Page objects that also say ``current``) and
a storage-format body of about 10 KB per version (paragraphs, page links by title, images,
code, an info panel, a table, a task list), objects in Confluence's order (bodies first).
20,000 pages with 4 old versions make an ``entities.xml`` of about 1 GB.

Then, each in a fresh child process (peak RSS from ``wait4``, the kernel's own accounting):

list    ``connector.list()``: pass 1 over ``entities.xml`` (metadata only)
fetch   ``list()`` then ``fetch()`` of every page: pass 2 (the published bodies, spooled to
        a temporary file) and the conversion of every body to clean HTML

Usage: python -m bench.confluence_xml [--pages 2000 20000] [--history 4] [--body-size 10000]
[--modes list fetch]

The big-export case (issue 23): ``--pages 300000 --history 0 --body-size 300 --modes list``,
300,000 published pages whose index is what a run holds for its whole length.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.harness import PYTHON, ROOT, _wait, emit

SPACES = 10
PARAGRAPH = (
    "<p>The <strong>deployment pipeline</strong> builds every commit, runs the tests and "
    "ships to staging; read {link} before you change it. Owners: "
    '<ac:link><ri:user ri:userkey="u{user}"/></ac:link>.&nbsp;See also the runbook.</p>'
)


def _body(rng: random.Random, titles: list[str], size: int) -> str:
    parts = [
        '<ac:structured-macro ac:name="info"><ac:parameter ac:name="title">Read me</ac:parameter>'
        "<ac:rich-text-body><p>Kept up to date by the platform team.</p></ac:rich-text-body>"
        "</ac:structured-macro>",
        '<ac:structured-macro ac:name="toc"/>',
    ]
    while sum(map(len, parts)) < size:
        title = rng.choice(titles)
        link = f'<ac:link><ri:page ri:content-title="{title}"/></ac:link>'
        parts.append(PARAGRAPH.format(link=link, user=rng.randrange(50)))
        kind = rng.randrange(6)
        if kind == 0:
            parts.append(
                '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">python'
                "</ac:parameter><ac:plain-text-body><![CDATA[def deploy(env):\n    if env < 3 "
                "and ok:\n        return run(env)\n]]></ac:plain-text-body></ac:structured-macro>"
            )
        elif kind == 1:
            parts.append(
                '<p><ac:image ac:width="400"><ri:attachment ri:filename="diagram.png"/>'
                "</ac:image></p>"
            )
        elif kind == 2:
            parts.append(
                "<table><tbody><tr><th>Step</th><th>Owner</th></tr><tr><td>Build</td>"
                "<td>CI</td></tr><tr><td>Deploy</td><td>Ops</td></tr></tbody></table>"
            )
        elif kind == 3:
            parts.append(
                "<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>complete"
                "</ac:task-status><ac:task-body>Rotate keys</ac:task-body></ac:task>"
                "</ac:task-list>"
            )
    return "".join(parts)


def _cdata(text: str) -> str:
    return f"<![CDATA[{text.replace(']]>', ']] >')}]]>"


def generate(path: Path, pages: int, history: int, body_size: int = 10_000) -> int:
    """Write the site backup zip; the size of its entities.xml in bytes."""
    rng = random.Random(7)
    titles = [f"Page {n} of the handbook" for n in range(pages)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("exportDescriptor.properties", "exportType=all\nbuildNumber=8703\n")
        with archive.open("entities.xml", "w", force_zip64=True) as out:
            _write(out, rng, titles, pages, history, body_size)
    return archive_size(path)


def archive_size(path: Path) -> int:
    """The inflated size of the zip's entities.xml."""
    with zipfile.ZipFile(path) as archive:
        return archive.getinfo("entities.xml").file_size


def _write(
    out: Any, rng: random.Random, titles: list[str], pages: int, history: int, body_size: int
) -> None:
    """Write entities.xml to ``out``."""
    pkg = 'package="com.atlassian.confluence.pages"'

    def put(text: str) -> None:
        out.write(text.encode())

    put('<?xml version="1.0" encoding="UTF-8"?>\n')
    put('<hibernate-generic datetime="2026-11-30 02:00:00">\n')
    for number in range(pages):  # bodies first, as Confluence writes them
        for version in range(history + 1):
            body_id = number * 100 + version
            owner = number * 100 + 1_000_000_000 + version
            put(
                f'<object class="BodyContent" package="com.atlassian.confluence.core">'
                f'<id name="id">{body_id}</id><property name="body">'
                f"{_cdata(_body(rng, titles, body_size))}</property>"
                f'<property name="bodyType">2</property><property name="content" class="Page" '
                f'{pkg}><id name="id">{owner}</id></property></object>\n'
            )
    for space in range(SPACES):
        put(
            f'<object class="Space" package="com.atlassian.confluence.spaces"><id name="id">'
            f'{space + 1}</id><property name="key"><![CDATA[S{space}]]></property>'
            f'<property name="name"><![CDATA[Space {space}]]></property></object>\n'
        )
    for user in range(50):
        put(
            f'<object class="ConfluenceUserImpl" package="com.atlassian.confluence.user">'
            f'<id name="key">u{user}</id><property name="name"><![CDATA[user{user}]]>'
            "</property></object>\n"
        )
    for number in range(pages):
        space = number % SPACES + 1
        # Page k of a space sits under page k // 5 of the same space: a tree 5 wide and
        # about 5 deep at 20,000 pages, as real spaces are (a chain would make every trail
        # hundreds of titles long).
        rank = number // SPACES
        parent = (rank // 5) * SPACES + number % SPACES if rank else None
        for version in range(history + 1):
            page_id = number * 100 + 1_000_000_000 + version
            current = version == 0
            original = (
                ""
                if current
                else f'<property name="originalVersion" class="Page" {pkg}><id name="id">'
                f"{number * 100 + 1_000_000_000}</id></property>"
            )
            where = (
                f'<property name="space" class="Space" {pkg}><id name="id">{space}</id></property>'
                if current
                else ""
            )
            up = (
                f'<property name="parent" class="Page" {pkg}><id name="id">'
                f"{parent * 100 + 1_000_000_000}</id></property>"
                if current and parent is not None
                else ""
            )
            put(
                f'<object class="Page" {pkg}><id name="id">{page_id}</id>'
                f'<property name="title">{_cdata(titles[number])}</property>{where}{up}'
                f'<property name="version">{history + 1 - version}</property>'
                '<property name="lastModificationDate">2026-11-29 10:00:00.000</property>'
                f'{original}<property name="contentStatus"><![CDATA[current]]></property>'
                "</object>\n"
            )
    put("</hibernate-generic>\n")


def child(path: str, mode: str) -> None:
    """In the measured process: list (and fetch) every page; print timings as JSON."""
    from syncd.connectors.base import SourceInfo
    from syncd.connectors.confluence.connector import (
        ConfluenceExportConnector,
        ConfluenceExportOptions,
    )

    options = ConfluenceExportOptions(path=Path(path), base_url="https://wiki.example.com")
    started = time.perf_counter()
    with ConfluenceExportConnector(options, source=SourceInfo("bench", "https://w")) as c:
        refs = list(c.list())
        listed = time.perf_counter() - started
        result: dict[str, Any] = {"pages": len(refs), "list_s": round(listed, 2)}
        if mode == "fetch":
            first = time.perf_counter()
            c.fetch(refs[0])  # pass 2 runs on the first fetch
            pass2 = time.perf_counter() - first
            rest = time.perf_counter()
            size = 0
            for ref in refs[1:]:
                size += len(c.fetch(ref).body)
            convert = time.perf_counter() - rest
            result |= {
                "pass2_s": round(pass2, 2),
                "convert_s": round(convert, 2),
                "convert_ms_per_page": round(convert * 1000 / max(len(refs) - 1, 1), 2),
                "html_kb_per_page": round(size / 1024 / max(len(refs) - 1, 1), 1),
            }
    print(json.dumps(result))


def measure(path: Path, mode: str) -> dict[str, Any]:
    """Run a child in ``mode``; its result with wall, CPU and peak RSS."""
    started = time.monotonic()
    process = subprocess.Popen(
        [PYTHON, "-m", "bench.confluence_xml", "--child", str(path), mode],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    output = process.stdout.read()
    code, wall, usage = _wait(process, started)
    assert code == 0, code
    result: dict[str, Any] = json.loads(output)
    total = wall
    result |= {
        "wall_s": round(total, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "wall_ms_per_page": round(total * 1000 / result["pages"], 2),
    }
    return result


def main() -> None:
    """Generate, measure, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--history", type=int, default=4)
    parser.add_argument("--body-size", type=int, default=10_000)
    parser.add_argument("--modes", nargs="+", choices=["list", "fetch"], default=["list", "fetch"])
    parser.add_argument("--child", nargs=2, metavar=("PATH", "MODE"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    results: dict[str, Any] = {
        "command": "python -m bench.confluence_xml " + " ".join(sys.argv[1:])
    }
    for pages in args.pages:
        with tempfile.TemporaryDirectory(prefix="syncd-bench-xml-") as tmp:
            path = Path(tmp) / "backup.zip"
            started = time.monotonic()
            size = generate(path, pages, args.history, args.body_size)
            results[str(pages)] = {
                "entities_xml_mb": round(size / 1e6, 1),
                "zip_mb": round(path.stat().st_size / 1e6, 1),
                "generate_s": round(time.monotonic() - started, 1),
            } | {mode: measure(path, mode) for mode in args.modes}
    emit("confluence_xml", results)


if __name__ == "__main__":
    main()
