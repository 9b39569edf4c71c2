"""The command line as an operator meets it: options in any place, secrets only where used."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from syncd.sandbox import SandboxServer
from tests.cli.test_cli_sync import TOKEN, make_site, pages, sandbox  # noqa: F401  # fixture

TWO_SOURCES = """\
intercom:
  token: ${{TOKEN_FOR_TEST}}
  base_url: {base_url}
state:
  url: sqlite:///state.db
sources:
  - name: docs
    connector: markdown
    url: https://docs.example.com
    options: {{path: ./site, base_url: https://docs.example.com/}}
  - name: wiki
    connector: mediawiki
    url: https://wiki.example.com
    options:
      api_url: https://wiki.example.com/w/api.php
      username: Bot@syncd
      password: ${{WIKI_PASSWORD_FOR_TEST}}
"""


def run(tmp_path: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith("SYNCD_") and not name.endswith("_FOR_TEST")
    }
    return subprocess.run(
        [sys.executable, "-m", "syncd", *args],
        cwd=tmp_path,
        env=environment | variables,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write(tmp_path: Path, base_url: str = "http://127.0.0.1:9") -> Path:
    make_site(tmp_path / "site", 2)
    path = tmp_path / "syncd.yaml"
    path.write_text(TWO_SOURCES.format(base_url=base_url), encoding="utf-8")
    return path


def test_status_and_db_upgrade_need_no_secret(tmp_path: Path) -> None:
    """`status` and `db upgrade` run with neither the token nor the wiki password set."""
    write(tmp_path)
    upgrade = run(tmp_path, "--config", "syncd.yaml", "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert "is at migration" in upgrade.stdout
    status = run(tmp_path, "--config", "syncd.yaml", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert [s["name"] for s in json.loads(status.stdout)] == ["docs", "wiki"]


def test_sync_of_one_source_needs_only_its_secrets(
    tmp_path: Path,
    sandbox: SandboxServer,  # noqa: F811
) -> None:
    """`sync --source docs` needs the token but not the wiki's password; a full sync needs both."""
    write(tmp_path, sandbox.url)
    one = run(tmp_path, "--config", "syncd.yaml", "sync", "--source", "docs", TOKEN_FOR_TEST=TOKEN)
    assert one.returncode == 0, one.stderr
    assert len(pages(sandbox)) == 2
    every = run(tmp_path, "--config", "syncd.yaml", "sync", TOKEN_FOR_TEST=TOKEN)
    assert every.returncode == 2
    path = "syncd.yaml"
    assert every.stderr.splitlines() == [
        f"syncd: error: {path}:17: sources[wiki].options.password:"
        " environment variable WIKI_PASSWORD_FOR_TEST is not set"
    ]
    no_token = run(tmp_path, "--config", "syncd.yaml", "sync", "--source", "docs")
    assert no_token.returncode == 2
    assert "intercom.token: environment variable TOKEN_FOR_TEST is not set" in no_token.stderr


def test_global_options_are_accepted_after_the_command(tmp_path: Path) -> None:
    """--config, --log-level and --log-format work after the command, as before it."""
    write(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    after = run(
        tmp_path / "elsewhere",
        "db",
        "upgrade",
        "--config",
        "../syncd.yaml",
        "--log-level",
        "debug",
        "--log-format",
        "json",
    )
    assert after.returncode == 0, after.stderr
    assert str(tmp_path / "state.db") in after.stdout
    status = run(tmp_path, "status", "--config", "syncd.yaml", "--json", "--log-level", "error")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)[0]["name"] == "docs"
    # After the command it wins over the same option before it.
    later = run(tmp_path, "--config", "missing.yaml", "status", "--config", "syncd.yaml")
    assert later.returncode == 0, later.stderr


def decisions(stderr: str) -> set[tuple[str, str, str]]:
    """(event, ref, detail) of each document decision among JSON log lines."""
    found = set()
    for line in stderr.splitlines():
        event = json.loads(line)
        if event["event"].startswith("document."):
            detail = event.get("by") or event.get("action") or ""
            found.add((event["event"], event["ref"], detail))
    return found


def test_debug_shows_each_documents_decision(
    tmp_path: Path,
    sandbox: SandboxServer,  # noqa: F811
) -> None:
    """At DEBUG (given after the command) each document's decision is logged; not at INFO."""
    write(tmp_path, sandbox.url)
    (tmp_path / "site" / "draft.md").write_text("---\ndraft: true\n---\n# Draft\n")
    args = ["sync", "--source", "docs", "--config", "syncd.yaml", "--log-format", "json"]
    first = run(tmp_path, *args, "--log-level", "debug", TOKEN_FOR_TEST=TOKEN)
    assert first.returncode == 0, first.stderr
    assert decisions(first.stderr) == {
        ("document.created", "page-0000.md", ""),
        ("document.created", "page-0001.md", ""),
        ("document.excluded", "draft.md", ""),
    }
    touched = tmp_path / "site" / "page-0000.md"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    with (tmp_path / "site" / "page-0001.md").open("a") as page:
        page.write("One more line.\n")
    plan = run(tmp_path, *args, "--dry-run", "--log-level", "debug", TOKEN_FOR_TEST=TOKEN)
    assert plan.returncode == 0, plan.stderr
    assert ("document.planned", "page-0001.md", "update") in decisions(plan.stderr)
    second = run(tmp_path, *args, "--log-level", "debug", TOKEN_FOR_TEST=TOKEN)
    assert second.returncode == 0, second.stderr
    assert decisions(second.stderr) == {
        ("document.unchanged", "page-0000.md", "hash"),
        ("document.updated", "page-0001.md", ""),
        ("document.unchanged", "draft.md", "version"),
    }
    quiet = run(tmp_path, *args, TOKEN_FOR_TEST=TOKEN)
    assert quiet.returncode == 0, quiet.stderr
    assert decisions(quiet.stderr) == set()


def test_a_taken_server_port_names_the_configuration_file(tmp_path: Path) -> None:
    """`syncd run` on a taken port says which file and key to change, in one line, exit 2."""
    write(tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        text = (tmp_path / "syncd.yaml").read_text(encoding="utf-8")
        text = text.replace("state:", f"server: {{host: 127.0.0.1, port: {port}}}\nstate:")
        (tmp_path / "syncd.yaml").write_text(text, encoding="utf-8")
        result = run(
            tmp_path,
            "run",
            "--config",
            "syncd.yaml",
            TOKEN_FOR_TEST=TOKEN,
            WIKI_PASSWORD_FOR_TEST="pw",
        )
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("syncd: error:")]
    assert errors == [
        f"syncd: error: syncd.yaml: server.port: cannot listen on 127.0.0.1:{port}:"
        " Address already in use"
    ], result.stderr
