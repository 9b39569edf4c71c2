"""Configuration loading: interpolation, overrides, paths, and one clear error per mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from syncd.config.loading import load_config
from syncd.connectors import registry
from syncd.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """\
intercom:
  token: ${TOKEN_FOR_TEST}
sources:
  - name: docs
    connector: markdown
    url: https://docs.example.com
    options: {path: ./docs}
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "docs").mkdir(exist_ok=True)
    path = tmp_path / "syncd.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """config.example.yaml is valid and documents every connector built in."""
    monkeypatch.setenv("INTERCOM_ACCESS_TOKEN", "tok")
    monkeypatch.setenv("WIKI_BOT_PASSWORD", "pw")
    monkeypatch.setenv("GIT_TOKEN", "git-tok")
    monkeypatch.setenv("GITHUB_TOKEN", "gh-tok")
    config = load_config(ROOT / "config.example.yaml")
    assert {s.connector for s in config.sources} == set(registry.BUILTIN)
    assert config.intercom.access_token() == "tok"
    handbook = config.source("handbook")
    assert Path(handbook.connector_options.path) == ROOT / "examples" / "handbook"  # type: ignore[attr-defined]
    # With git, path is a folder inside the repository, not beside the configuration.
    docs = config.source("product-docs")
    assert docs.connector_options.folder() == "content/docs"  # type: ignore[attr-defined]


def test_interpolation_and_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """${VAR} is replaced and relative paths resolve against the config file's folder."""
    monkeypatch.setenv("TOKEN_FOR_TEST", "abc")
    config = load_config(write(tmp_path, MINIMAL))
    assert config.intercom.access_token() == "abc"
    assert config.state.sqlalchemy_url.database == str(tmp_path / "syncd.db")
    assert Path(config.sources[0].connector_options.path) == tmp_path / "docs"  # type: ignore[attr-defined]


def test_default_after_colon_dash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """${VAR:-fallback} uses the fallback when VAR is unset."""
    monkeypatch.delenv("TOKEN_FOR_TEST", raising=False)
    config = load_config(
        write(tmp_path, MINIMAL.replace("${TOKEN_FOR_TEST}", "${TOKEN_FOR_TEST:-x}"))
    )
    assert config.intercom.access_token() == "x"


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SYNCD_INTERCOM__TOKEN overrides the token in the file."""
    monkeypatch.setenv("TOKEN_FOR_TEST", "from-file")
    monkeypatch.setenv("SYNCD_INTERCOM__TOKEN", "from-env")
    monkeypatch.setenv("SYNCD_INTERCOM__MAX_CONCURRENCY", "3")
    config = load_config(write(tmp_path, MINIMAL))
    assert config.intercom.access_token() == "from-env"
    assert config.intercom.max_concurrency == 3


def test_environment_overrides_whole_sections_in_any_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A section can come as JSON, and variable names are not case-sensitive."""
    monkeypatch.setenv("TOKEN_FOR_TEST", "from-file")
    monkeypatch.setenv("SYNCD_SERVER", '{"port": 9200}')
    monkeypatch.setenv("syncd_state__lease_ttl", "90s")
    config = load_config(write(tmp_path, MINIMAL))
    assert config.server.port == 9200
    assert config.state.lease_ttl.total_seconds() == 90


def test_bad_environment_override_names_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An override that fails validation is reported like a value of the file."""
    monkeypatch.setenv("TOKEN_FOR_TEST", "from-file")
    monkeypatch.setenv("SYNCD_INTERCOM__MAX_CONCURRENCY", "0")
    with pytest.raises(ConfigError, match=r"intercom\.max_concurrency"):
        load_config(write(tmp_path, MINIMAL))


# Loads a configuration in a fresh process and says whether pydantic-settings was imported.
LOADS = """
import sys
from syncd.config.loading import load_config
config = load_config(sys.argv[1])
print(config.intercom.access_token(), "pydantic_settings" in sys.modules)
"""


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, "from-file False"),
        # Not overrides: the configuration's path, and a variable the file interpolates.
        ({"SYNCD_CONFIG": "elsewhere.yaml", "SYNCD_INTERCOMX": "x"}, "from-file False"),
        ({"SYNCD_INTERCOM__TOKEN": "from-env"}, "from-env True"),
    ],
)
def test_pydantic_settings_is_imported_only_for_overrides(
    tmp_path: Path, variables: dict[str, str], expected: str
) -> None:
    """Without SYNCD_<SECTION> variables, loading skips the library that reads them."""
    path = write(tmp_path, MINIMAL)
    environment = {
        name: value for name, value in os.environ.items() if not name.upper().startswith("SYNCD_")
    }
    environment |= {"TOKEN_FOR_TEST": "from-file", **variables}
    child = subprocess.run(
        [sys.executable, "-c", LOADS, str(path)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert child.stdout.strip() == expected


def test_token_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The token can come from a file, such as a mounted secret."""
    (tmp_path / "token").write_text("file-token\n")
    text = MINIMAL.replace("token: ${TOKEN_FOR_TEST}", "token_file: token")
    assert load_config(write(tmp_path, text)).intercom.access_token() == "file-token"


def test_token_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The token is a secret: neither repr nor a dump shows it."""
    monkeypatch.setenv("TOKEN_FOR_TEST", "very-secret-token")
    config = load_config(write(tmp_path, MINIMAL))
    assert "very-secret-token" not in repr(config)
    assert "very-secret-token" not in str(config.model_dump())


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("intercom: [unclosed\n", None, "invalid YAML at line"),
        (MINIMAL + "surprise: 1\n", "surprise", "unknown key"),
        (MINIMAL.replace("token:", "tokn:"), "intercom.tokn", "unknown key"),
        (MINIMAL + "state: {url: 'mysql://x'}\n", "state.url", "unsupported database"),
        (MINIMAL + "state: {url: 'not a url'}\n", "state.url", "not a database URL"),
        (
            MINIMAL + "server: {port: '${NOT_SET_ANYWHERE}'}\n",
            "server.port",
            "environment variable NOT_SET_ANYWHERE is not set",
        ),
        (MINIMAL + "server: {port: many}\n", "server.port", "integer"),
        (
            MINIMAL + MINIMAL.split("sources:\n")[1],
            "sources[1].name",
            "duplicate source name 'docs': sources[0] (line 4) has it already",
        ),
        (
            MINIMAL
            + MINIMAL.split("sources:\n")[1]
            .replace("name: docs", "name: more")
            .replace("url: https://docs.example.com", "url: https://docs.example.com/"),
            "sources[more].url",
            "url 'https://docs.example.com/' is the url of sources[docs] (line 4) too: each"
            " source's Content Import Source is found by its url",
        ),
        (
            MINIMAL.replace("name: docs", "name: Docs!"),
            "sources[0].name",
            "'Docs!' cannot name a source: use 1 to 64 lowercase letters, digits, '-' or '_'"
            " (such as 'docs')",
        ),
        (
            MINIMAL + "server: {hook_secret: short}\n",
            "server.hook_secret",
            "use a hook secret of at least 16 characters (it is not shown)",
        ),
        (
            MINIMAL.replace("connector: markdown", "connector: nope"),
            "sources[docs].connector",
            "unknown connector 'nope'",
        ),
        (
            MINIMAL.replace("{path: ./docs}", "{path: ./docs, colour: red}"),
            "sources[docs].options.colour",
            "unknown key",
        ),
        (
            MINIMAL.replace(
                "url: https://docs", "schedule: {interval: soon}\n    url: https://docs"
            ),
            "sources[docs].schedule.interval",
            "duration",
        ),
    ],
)
def test_bad_config_names_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, key: str | None, message: str
) -> None:
    """Each kind of mistake raises one ConfigError naming the file, the key and the problem."""
    monkeypatch.setenv("TOKEN_FOR_TEST", "abc")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    error = str(info.value)
    assert error.startswith(str(path)), error
    if key:
        assert f": {key}:" in error, error
    assert message in error, error
    assert info.value.exit_code == 2


def test_duplicate_names_come_with_the_other_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A duplicate name, a bad name, a short hook secret and a bad URL: one error, each line
    naming file:line and key, the secret's value nowhere."""
    monkeypatch.setenv("TOKEN_FOR_TEST", "abc")
    second = MINIMAL.split("sources:\n")[1]
    bad = second.replace("name: docs", "name: Bad Name").replace("https://docs", "ftp://docs")
    path = write(tmp_path, MINIMAL + second + bad + "server: {hook_secret: tiny-secret}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 5, lines
    assert f"{path}:8: sources[1].name: duplicate source name 'docs'" in lines[0]
    assert (
        f"{path}:10: sources[1].url: url 'https://docs.example.com' is the url of sources[0]"
        in lines[1]
    )
    assert any(line.startswith(f"{path}:16: server.hook_secret: use a hook") for line in lines)
    assert any(f"{path}:12: sources[2].name: 'Bad Name' cannot name" in line for line in lines)
    assert any(f"{path}:14: sources[2].url: expected an http" in line for line in lines)
    assert "tiny-secret" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is a configuration error naming it."""
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "args",
    [
        ["--config", "missing.yaml", "sync"],
        ["--config", "bad.yaml", "status"],
    ],
)
def test_cli_config_errors_exit_2_without_traceback(tmp_path: Path, args: list[str]) -> None:
    """The CLI prints one line and exits 2 on a bad configuration, with no traceback."""
    (tmp_path / "bad.yaml").write_text("sources: {oops\n")
    result = subprocess.run(
        [sys.executable, "-m", "syncd", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("syncd: error:")
    assert len(result.stderr.strip().splitlines()) == 1


WITH_SECRETS = """\
intercom:
  token: ${TOKEN_FOR_TEST}
state:
  url: sqlite:///state.db
sources:
  - name: docs
    connector: markdown
    url: https://docs.example.com
    options: {path: ./docs}
  - name: wiki
    connector: mediawiki
    url: https://wiki.example.com
    options:
      api_url: https://wiki.example.com/w/api.php
      username: Bot@syncd
      password: ${WIKI_PASSWORD_FOR_TEST}
"""


def test_unset_secrets_are_required_only_where_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unset ${VAR} fails only the part that uses it, naming the file, key and variable."""
    monkeypatch.delenv("TOKEN_FOR_TEST", raising=False)
    monkeypatch.delenv("WIKI_PASSWORD_FOR_TEST", raising=False)
    path = write(tmp_path, WITH_SECRETS)
    config = load_config(path)
    config.require("state", "server", config.source("docs"))  # none of them uses a variable
    with pytest.raises(ConfigError) as info:
        config.require("intercom", config.source("wiki"))
    assert str(info.value).splitlines() == [
        f"{path}:2: intercom.token: environment variable TOKEN_FOR_TEST is not set",
        f"{path}:16: sources[wiki].options.password:"
        " environment variable WIKI_PASSWORD_FOR_TEST is not set",
    ]
    assert info.value.exit_code == 2


def test_an_override_replaces_an_unset_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SYNCD_INTERCOM__TOKEN stands in for an unset ${VAR} in the file."""
    monkeypatch.delenv("TOKEN_FOR_TEST", raising=False)
    monkeypatch.setenv("SYNCD_INTERCOM__TOKEN", "from-env")
    config = load_config(write(tmp_path, WITH_SECRETS))
    config.require("intercom")
    assert config.intercom.access_token() == "from-env"


def test_unset_variables_are_still_checked_as_types(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys and types are validated whatever is unset: a typo next to a secret still fails."""
    monkeypatch.delenv("TOKEN_FOR_TEST", raising=False)
    text = WITH_SECRETS.replace("username:", "usernme:")
    with pytest.raises(ConfigError, match=r"sources\[wiki\]\.options\.usernme: unknown key"):
        load_config(write(tmp_path, text))


def test_every_problem_is_reported_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """All mistakes come in one error, one line each, with the file, the source's name and hints."""
    monkeypatch.setenv("TOKEN_FOR_TEST", "abc")
    text = (
        MINIMAL.replace("token:", "max_concurency: 4\n  token:")
        .replace("{path: ./docs}", "{path: ./docs, exclud: []}")
        .replace("connector: markdown", "connector: markdwn")
        + "  - name: wiki\n    connector: mediawiki\n    url: nowhere\n"
        "    options: {api_url: https://w.example.com/api.php}\n"
        "state: {lease_ttl: soon}\n"
    )
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    lines = str(info.value).splitlines()
    assert all(line.startswith(f"{path}:") for line in lines), lines
    problems = sorted(line.removeprefix(f"{path}:") for line in lines)
    assert problems == [
        "11: sources[wiki].url: expected an http:// or https:// URL",
        "13: state.lease_ttl: expected a duration such as 90s, 15m, 2h or 1d",
        "2: intercom.max_concurency: unknown key; did you mean 'max_concurrency'?",
        "6: sources[docs].connector: unknown connector 'markdwn'; did you mean 'markdown'?"
        f" available: {', '.join(registry.available())}",
    ]
    assert len(info.value.problems) == 4


def test_token_file_error_names_the_token_file(tmp_path: Path) -> None:
    """A token file that cannot be read is named by its path."""
    text = MINIMAL.replace("token: ${TOKEN_FOR_TEST}", "token_file: secrets/token")
    config = load_config(write(tmp_path, text))
    with pytest.raises(ConfigError, match=r"intercom\.token_file: cannot read the token file .*"):
        config.intercom.access_token()
    with pytest.raises(ConfigError) as info:
        config.intercom.access_token()
    assert str(tmp_path / "secrets" / "token") in str(info.value)


def test_unknown_source_suggests_the_closest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--source handbok` says which source was probably meant, and in which file."""
    monkeypatch.setenv("TOKEN_FOR_TEST", "abc")
    path = write(tmp_path, MINIMAL)
    with pytest.raises(ConfigError) as info:
        load_config(path).source("doc")
    assert str(info.value) == (
        f"{path}: sources: no source named 'doc' (did you mean 'docs'? configured: docs)"
    )


def test_every_unknown_source_is_named_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--source doc --source wikki` names both mistakes in one error."""
    monkeypatch.setenv("TOKEN_FOR_TEST", "abc")
    config = load_config(write(tmp_path, MINIMAL))
    assert [s.name for s in config.sources_named(["docs"])] == ["docs"]
    with pytest.raises(ConfigError) as info:
        config.sources_named(["doc", "docs", "wikki"])
    assert len(info.value.problems) == 2
    assert "'doc' (did you mean 'docs'?" in str(info.value)
    assert "no source named 'wikki' (configured: docs)" in str(info.value)


def test_a_token_file_needs_no_token_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`token: ${VAR}` left unset beside a token_file: the file's token is used, nothing asked."""
    monkeypatch.delenv("TOKEN_FOR_TEST", raising=False)
    (tmp_path / "token").write_text("file-token\n")
    text = MINIMAL.replace(
        "token: ${TOKEN_FOR_TEST}", "token: ${TOKEN_FOR_TEST}\n  token_file: token"
    )
    config = load_config(write(tmp_path, text))
    config.require("intercom")
    assert config.intercom.access_token() == "file-token"
