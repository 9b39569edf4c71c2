"""Write deploy/prometheus/prometheusrule.yaml from the plain rules file beside it.

The alert rules are written once, in deploy/prometheus/syncd-rules.yaml (what Prometheus
loads with rule_files); the Prometheus Operator takes the same groups inside a PrometheusRule.
Run after editing the rules: python scripts/prometheus_rule.py (a test checks both match).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

FOLDER = Path(__file__).resolve().parents[1] / "deploy" / "prometheus"
PLAIN = FOLDER / "syncd-rules.yaml"
OPERATOR = FOLDER / "prometheusrule.yaml"
HEADER = (
    "# Generated from syncd-rules.yaml by scripts/prometheus_rule.py: edit that file instead.\n"
    "# The label release: prometheus matches kube-prometheus-stack's default ruleSelector;\n"
    "# change it to whatever your Prometheus resource's ruleSelector asks for.\n"
)


def render(plain: str) -> str:
    """The PrometheusRule manifest holding the groups of the plain rules file ``plain``."""
    groups = yaml.safe_load(plain)["groups"]
    manifest = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "syncd",
            "labels": {"app.kubernetes.io/name": "syncd", "release": "prometheus"},
        },
        "spec": {"groups": groups},
    }
    return HEADER + yaml.safe_dump(manifest, sort_keys=False, width=100, allow_unicode=True)


def main() -> int:
    """Write the manifest; 0."""
    OPERATOR.write_text(render(PLAIN.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
