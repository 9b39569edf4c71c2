"""The built wheel, installed in a fresh virtualenv beside packages named `connectors` and
`migrations` (both names belong to other projects on the public package index)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import syncd.connectors.base
from syncd.connectors import registry
from syncd.sandbox import SandboxServer, SandboxSettings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "wheel-token"


def make_wheel(folder: Path, name: str, files: dict[str, str], entry_points: str = "") -> Path:
    """A minimal pure-Python wheel of ``files``, built by hand: no build tool, no network."""
    version = "1.0"
    dist_info = f"{name}-{version}.dist-info"
    contents = dict(files)
    contents[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    contents[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: syncd-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    if entry_points:
        contents[f"{dist_info}/entry_points.txt"] = entry_points
    record = []
    for path, text in contents.items():
        data = text.encode("utf-8")
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    contents[f"{dist_info}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in contents.items():
            archive.writestr(path, text)
    return wheel


def plugin_source() -> str:
    """The third-party connector exactly as syncd.connectors.base documents it."""
    doc = syncd.connectors.base.__doc__ or ""
    block = doc.split('``notes = "acme_syncd:NotesConnector"``)::\n', 1)[1].split("\n\n\n")[0]
    lines = block.split('"""')[0]
    return textwrap.dedent(lines)


def run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("SYNCD_")}
    environment.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.slow
def test_wheel_installs_beside_connectors_and_migrations_and_runs_a_plugin(
    tmp_path: Path,
) -> None:
    """The wheel claims only `syncd`; it starts, migrates, and syncs a third-party connector."""
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("syncd-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        top = {name.split("/")[0] for name in archive.namelist()}
        assert "syncd/connectors/base.py" in archive.namelist()
        assert "syncd/migrations/env.py" in archive.namelist()
    assert {name for name in top if not name.endswith(".dist-info")} == {"syncd"}

    others = tmp_path / "others"
    others.mkdir()
    clashing = [
        make_wheel(others, name, {f"{name}/__init__.py": f"OWNER = 'the {name} project'\n"})
        for name in ("connectors", "migrations")
    ]
    plugin = make_wheel(
        others,
        "acme_syncd",
        {"acme_syncd/__init__.py": plugin_source()},
        "[syncd.connectors]\nnotes = acme_syncd:NotesConnector\n",
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    local = run(venv, "pip", "install", "-q", "--no-index", *map(str, clashing), cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    # syncd's dependencies come from the package index, pinned as in CI.
    installed = run(
        venv, "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"), str(wheel), cwd=tmp_path
    )
    assert installed.returncode == 0, installed.stderr
    added = run(venv, "pip", "install", "-q", "--no-index", "--no-deps", str(plugin), cwd=tmp_path)
    assert added.returncode == 0, added.stderr

    owners = run(
        venv,
        "python",
        "-c",
        "import connectors, migrations; print(connectors.OWNER, '|', migrations.OWNER)",
        cwd=tmp_path,
    )
    assert owners.stdout.strip() == "the connectors project | the migrations project"
    # Built-ins are registered as a plugin's connector is: entry points in the wheel's metadata.
    listed = run(
        venv,
        "python",
        "-c",
        "from importlib.metadata import entry_points\n"
        "for entry in entry_points(group='syncd.connectors'):\n"
        "    print(f'{entry.name}={entry.dist.name}')",
        cwd=tmp_path,
    )
    expected = {f"{name}=syncd" for name in registry.BUILTIN} | {"notes=acme_syncd"}
    assert set(listed.stdout.split()) == expected, listed.stdout + listed.stderr
    version = run(venv, "syncd", "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert re.match(r"syncd, version \d", version.stdout)

    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as sandbox:
        config = tmp_path / "syncd.yaml"
        config.write_text(
            json.dumps(
                {
                    "intercom": {"token": TOKEN, "base_url": sandbox.url},
                    "state": {"url": "sqlite:///state.db"},
                    "sources": [
                        {
                            "name": "notes",
                            "connector": "notes",
                            "url": "https://notes.example.com",
                            "options": {"notes": {"welcome": "# Hello", "faq": "# FAQ\n\nYes."}},
                        }
                    ],
                }
            ),
            encoding="utf-8",
        )
        upgrade = run(venv, "syncd", "--config", str(config), "db", "upgrade", cwd=tmp_path)
        assert upgrade.returncode == 0, upgrade.stderr
        assert "is at migration" in upgrade.stdout
        synced = run(venv, "syncd", "--config", str(config), "sync", "--json", cwd=tmp_path)
        assert synced.returncode == 0, synced.stderr
        assert json.loads(synced.stdout)["sources"][0]["created"] == 2
        titles = sorted(page["title"] for page in sandbox.store.list_pages())
    assert titles == ["faq", "welcome"]
