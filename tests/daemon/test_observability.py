"""Alert rules and the Grafana dashboard against what a real `syncd run` exposes on /metrics."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.conftest import missing
from tests.daemon.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "syncd.json"
# Series a PromQL expression may name that syncd does not export: Prometheus' own.
BUILTIN = {"up"}
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}
_NAME = re.compile(r"\b(syncd_[a-z0-9_]+|up)\b")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Daemon:
    """A `syncd run` of a healthy Markdown folder and a wiki nobody answers."""

    def __init__(self, root: Path, sandbox_url: str) -> None:
        self.port = _free_port()
        docs = root / "docs"
        docs.mkdir(exist_ok=True)
        (docs / "index.md").write_text("# Welcome\n\nHow we work.\n", encoding="utf-8")
        config = {
            "intercom": {"token": "t", "base_url": sandbox_url},
            "state": {"url": f"sqlite:///{root / 'state.db'}"},
            "server": {"host": "127.0.0.1", "port": self.port},
            "sources": [
                {
                    "name": "handbook",
                    "connector": "markdown",
                    "url": "https://handbook.example.com",
                    "schedule": {"interval": "1h"},
                    "options": {"path": str(docs)},
                },
                {
                    "name": "team-wiki",
                    "connector": "mediawiki",
                    "url": "https://wiki.example.com",
                    "schedule": {"cron": "0 */2 * * *"},
                    "options": {"api_url": f"http://127.0.0.1:{_free_port()}/w/api.php"},
                },
            ],
        }
        self.config = root / "syncd.yaml"
        self.config.write_text(json.dumps(config), encoding="utf-8")
        self.log = root / "daemon.log"
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("a", encoding="utf-8") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "syncd", "--config", str(self.config), "run"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def runs_finished(self, process: subprocess.Popen[bytes], count: int) -> str:
        """Wait until both sources finished ``count`` runs in this process; the /metrics text."""
        scraped = ""

        def done() -> bool:
            nonlocal scraped
            assert process.poll() is None, self.log.read_text(encoding="utf-8")
            try:
                scraped = httpx.get(f"{self.url}/metrics", timeout=5).text
            except httpx.HTTPError:
                return False
            runs = _samples(scraped, "syncd_runs_total")
            by_source: dict[str, float] = {}
            for labels, value in runs:
                by_source[labels["source"]] = by_source.get(labels["source"], 0) + value
            return by_source.get("handbook", 0) >= count and by_source.get("team-wiki", 0) >= count

        wait_until(done, timeout=120)
        return scraped


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def _value(text: str, name: str, source: str) -> float:
    found = [value for labels, value in _samples(text, name) if labels.get("source") == source]
    assert len(found) == 1, (name, source, found)
    return found[0]


def _exposed(text: str) -> set[str]:
    """Every series name the exposition declares, samples or not (by each family's type)."""
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in _SUFFIXES.get(family.type, ("",))
    }


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """/metrics after one run of each source, and again after a restart and one more run."""
    root = tmp_path_factory.mktemp("observability")
    with SandboxServer(SandboxSettings(token="t", rate_limit=0)) as sandbox:
        daemon = Daemon(root, sandbox.url)
        texts = []
        for _ in range(2):
            process = daemon.start()
            try:
                texts.append(daemon.runs_finished(process, 1))
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        yield texts[0], texts[1]


def _rule_groups(path: Path) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    return groups


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = dashboard["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def test_the_alert_gauges_hold_after_a_restart(scraped: tuple[str, str]) -> None:
    first, second = scraped
    assert _value(first, "syncd_schedule_interval_seconds", "handbook") == 3600
    assert _value(first, "syncd_schedule_interval_seconds", "team-wiki") == 7200
    assert _value(first, "syncd_consecutive_failed_runs", "team-wiki") == 1
    assert _value(first, "syncd_consecutive_failed_runs", "handbook") == 0
    success = _value(first, "syncd_last_success_timestamp_seconds", "handbook")
    # The restarted daemon read the streak and the last success from the state database.
    assert _value(second, "syncd_consecutive_failed_runs", "team-wiki") == 2
    assert _value(second, "syncd_last_success_timestamp_seconds", "handbook") >= success
    assert _value(second, "syncd_pages_held", "handbook") == 1


def test_alert_rules_use_only_exposed_metrics(scraped: tuple[str, str]) -> None:
    exposed = _exposed(scraped[0]) | BUILTIN
    rules = [
        rule for group in _rule_groups(PROMETHEUS / "syncd-rules.yaml") for rule in group["rules"]
    ]
    names = {name for rule in rules for name in _NAME.findall(rule["expr"])}
    assert names, "no metric names found in the rules"
    assert names <= exposed, sorted(names - exposed)


def test_dashboard_uses_only_exposed_metrics(scraped: tuple[str, str]) -> None:
    exposed = _exposed(scraped[0]) | BUILTIN
    expressions = _dashboard_expressions()
    names = {name for expr in expressions for name in _NAME.findall(expr)}
    assert len(names) >= 10
    assert names <= exposed, sorted(names - exposed)


def test_prometheusrule_holds_the_plain_rules() -> None:
    spec = importlib.util.spec_from_file_location(
        "prometheus_rule", ROOT / "scripts" / "prometheus_rule.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plain = (PROMETHEUS / "syncd-rules.yaml").read_text(encoding="utf-8")
    committed = (PROMETHEUS / "prometheusrule.yaml").read_text(encoding="utf-8")
    assert committed == module.render(plain), "run scripts/prometheus_rule.py"
    operator = yaml.safe_load(committed)
    assert operator["kind"] == "PrometheusRule"
    assert operator["spec"]["groups"] == _rule_groups(PROMETHEUS / "syncd-rules.yaml")
    alerts = {rule["alert"] for rule in operator["spec"]["groups"][0]["rules"]}
    assert alerts == {
        "SyncdSourceFailing",
        "SyncdSafetyStopRefused",
        "SyncdNoSuccessfulRun",
        "SyncdFreshnessSlow",
        "SyncdIntercomAuthRefused",
        "SyncdDown",
    }
    for rule in operator["spec"]["groups"][0]["rules"]:
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_promtool_checks_and_tests_the_rules() -> None:
    if shutil.which("promtool") is None:
        missing("promtool not installed (apt-get install prometheus)")
    checked = subprocess.run(
        ["promtool", "check", "rules", str(PROMETHEUS / "syncd-rules.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 6 rules found" in checked.stdout
    tests = sorted((PROMETHEUS / "tests").glob("*.test.yaml"))
    tested = subprocess.run(
        ["promtool", "test", "rules", *map(str, tests)], capture_output=True, text=True, check=False
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
