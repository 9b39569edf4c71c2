#!/usr/bin/env bash
# Lint the deployment files, failing on any finding:
#   - hadolint on the Dockerfile (every level, info included);
#   - kubernetes-validate --strict on every manifest in deploy/kubernetes/, against the oldest
#     and the newest Kubernetes version we support (podFailurePolicy is GA from 1.31);
#   - promtool check rules and promtool test rules on the alert rules in deploy/prometheus/
#     (promtool from Debian's prometheus package, on the PATH).
#
# Usage: .ci/lint-deploy.sh [BIN_DIR]
#   BIN_DIR holds the hadolint and kubernetes-validate executables; default: the project's
#   .venv/bin (pip install -e '.[dev]' provides both). KUBERNETES_VERSIONS overrides the list.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-$root/.venv/bin}"
case "$bin" in
    /*) ;;
    *) bin="$PWD/$bin" ;;
esac
versions="${KUBERNETES_VERSIONS:-1.31.0 1.37.0}"

for tool in hadolint kubernetes-validate; do
    if [[ ! -x "$bin/$tool" ]]; then
        echo "lint-deploy: $bin/$tool not found; pass the folder holding it" >&2
        exit 2
    fi
done

cd "$root"
failed=0

echo "hadolint Dockerfile"
"$bin/hadolint" --failure-threshold info Dockerfile || failed=1

shopt -s nullglob
manifests=(deploy/kubernetes/*.yaml deploy/kubernetes/*.yml)
if [[ ${#manifests[@]} -eq 0 ]]; then
    echo "lint-deploy: no manifests in deploy/kubernetes/" >&2
    exit 1
fi
for version in $versions; do
    echo "kubernetes-validate --strict (Kubernetes $version): ${manifests[*]}"
    # --quiet prints only warnings and failures: any output is a finding.
    if ! output="$("$bin/kubernetes-validate" --strict --quiet \
            --kubernetes-version "$version" "${manifests[@]}" 2>&1)"; then
        failed=1
    fi
    if [[ -n "$output" ]]; then
        printf '%s\n' "$output"
        failed=1
    fi
done

if ! command -v promtool >/dev/null; then
    echo "lint-deploy: promtool not found (apt-get install prometheus)" >&2
    exit 2
fi
echo "promtool check rules / test rules: deploy/prometheus"
promtool check rules deploy/prometheus/syncd-rules.yaml || failed=1
promtool test rules deploy/prometheus/tests/*.test.yaml || failed=1

if [[ $failed -ne 0 ]]; then
    echo "lint-deploy: findings above" >&2
    exit 1
fi
echo "lint-deploy: clean"
