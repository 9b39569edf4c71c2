"""Deployment files: the lint script, and the manifests agreeing with the code they run."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.config.loading import ServerConfig, SourceConfig, load_config
from syncd.daemon.scheduler import DEFAULT_GRACE
from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
BIN = Path(sys.executable).parent
LINT = ROOT / ".ci" / "lint-deploy.sh"


def manifest(name: str) -> dict[str, Any]:
    """The single object of a manifest file, or the first one."""
    with (MANIFESTS / name).open(encoding="utf-8") as stream:
        return next(doc for doc in yaml.safe_load_all(stream) if doc)


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment, Job or CronJob."""
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


@pytest.fixture
def linters() -> Path:
    """The folder holding hadolint and kubernetes-validate; skips when either is missing."""
    for tool in ("hadolint", "kubernetes-validate"):
        if not (BIN / tool).exists():
            pytest.skip(f"{tool} is not installed beside the test interpreter")
    if shutil.which("promtool") is None:
        missing("promtool not installed (apt-get install prometheus)")
    return BIN


def test_lint_script_passes_on_the_project(linters: Path) -> None:
    """hadolint and kubernetes-validate --strict find nothing in the project's files."""
    result = subprocess.run(
        ["bash", str(LINT), str(linters)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "lint-deploy: clean" in result.stdout


def test_lint_script_fails_on_a_finding(linters: Path, tmp_path: Path) -> None:
    """A manifest with an unknown field makes the lint script fail and name the problem."""
    shutil.copytree(ROOT / ".ci", tmp_path / ".ci")
    shutil.copytree(MANIFESTS, tmp_path / "deploy" / "kubernetes")
    shutil.copytree(ROOT / "deploy" / "prometheus", tmp_path / "deploy" / "prometheus")
    shutil.copy(ROOT / "Dockerfile", tmp_path / "Dockerfile")
    broken = manifest("cronjob.yaml")
    broken["spec"]["concurrency"] = "Forbid"  # a typo of concurrencyPolicy
    (tmp_path / "deploy" / "kubernetes" / "cronjob.yaml").write_text(
        yaml.safe_dump(broken), encoding="utf-8"
    )
    result = subprocess.run(
        ["bash", str(tmp_path / ".ci" / "lint-deploy.sh"), str(linters)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "concurrency" in result.stdout


def test_configmap_holds_a_valid_config_on_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ConfigMap's syncd.yaml loads with the Secret's variables; state is on PostgreSQL."""
    monkeypatch.setenv("INTERCOM_ACCESS_TOKEN", "token")
    monkeypatch.setenv("SYNCD_STATE_URL", "postgresql+psycopg://syncd:pw@postgres:5432/syncd")
    monkeypatch.setenv("WIKI_BOT_PASSWORD", "password")
    path = tmp_path / "syncd.yaml"
    path.write_text(manifest("configmap.yaml")["data"]["syncd.yaml"], encoding="utf-8")
    config = load_config(path)
    assert config.state.sqlalchemy_url.get_backend_name() == "postgresql"
    assert config.server.port == ServerConfig().port


def _keys(node: Any, prefix: str = "") -> set[str]:
    if isinstance(node, dict):
        keys = set()
        for key, value in node.items():
            keys.add(f"{prefix}{key}")
            keys |= _keys(value, f"{prefix}{key}.")
        return keys
    if isinstance(node, list) and all(isinstance(item, dict) for item in node):
        return {key for item in node for key in _keys(item, f"{prefix}[{item.get('name')}].")}
    return set()


def test_configmap_is_minimal_and_uses_documented_keys() -> None:
    """The ConfigMap's config sets only keys config.example.yaml documents, and no source
    key to its default: a starting point to extend, not a copy of the reference."""
    example = ROOT / "config.example.yaml"
    if not example.exists():
        pytest.skip("config.example.yaml is not there yet")

    def generic(keys: set[str]) -> set[str]:
        return {re.sub(r"\[[^\]]*\]", "[]", key) for key in keys}

    documented = generic(_keys(yaml.safe_load(example.read_text(encoding="utf-8"))))
    raw = yaml.safe_load(manifest("configmap.yaml")["data"]["syncd.yaml"])
    assert generic(_keys(raw)) <= documented
    defaults = SourceConfig.model_fields
    for source in raw["sources"]:
        for key, value in source.items():
            field = defaults.get(key)
            assert field is None or field.is_required() or value != field.default, (
                source["name"],
                key,
            )
    assert len(generic(_keys(raw))) < len(documented) / 2


@pytest.mark.parametrize("name", ["deployment.yaml", "cronjob.yaml", "full-resync-job.yaml"])
def test_pods_outlast_the_shutdown_grace(name: str) -> None:
    """Kubernetes waits longer than syncd's grace period before it kills a stopping pod."""
    spec = pod_spec(manifest(name))
    assert spec["terminationGracePeriodSeconds"] > DEFAULT_GRACE
    container = spec["containers"][0]
    assert container["name"] == "syncd"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_deployment_probes_the_daemon_endpoints() -> None:
    """The Deployment runs `syncd run` once at a time, probing /healthz and /readyz."""
    deployment = manifest("deployment.yaml")
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    container = pod_spec(deployment)["containers"][0]
    assert container["args"] == ["run"]
    assert container["ports"][0]["containerPort"] == ServerConfig().port
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


@pytest.mark.parametrize(
    ("name", "args"),
    [("cronjob.yaml", ["sync"]), ("full-resync-job.yaml", ["sync", "--full-resync"])],
)
def test_jobs_fail_fast_on_errors_a_retry_cannot_fix(name: str, args: list[str]) -> None:
    """Exit codes 2, 4 and 6 fail the Job at once; the pods never restart in place."""
    obj = manifest(name)
    job = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    fail_fast = [rule for rule in job["podFailurePolicy"]["rules"] if rule["action"] == "FailJob"]
    assert fail_fast[0]["onExitCodes"]["values"] == [2, 4, 6]
    spec = pod_spec(obj)
    assert spec["restartPolicy"] == "Never"
    assert spec["containers"][0]["args"] == args
    if obj["kind"] == "CronJob":
        assert obj["spec"]["concurrencyPolicy"] == "Forbid"


def test_dockerfile_exposes_the_default_port_and_runs_the_daemon() -> None:
    """The image exposes the daemon's default port and runs `syncd run` under tini."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert f"EXPOSE {ServerConfig().port}" in text
    assert 'ENTRYPOINT ["tini", "--", "syncd"]' in text
    assert 'CMD ["run"]' in text
