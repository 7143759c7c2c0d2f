#!/usr/bin/env bash
# npm run test:chart: the Helm chart rendered with the real Helm and every rendered document
# validated against its schema, offline.
#   1. helm lint --strict with each value set;
#   2. helm template of each helm/token-swap-gateway/ci/*-values.yaml, of values.yaml with the
#      minimum --set (the defaults alone lack the four settings that have no default), and of the
#      kind install sets .github/ci/*-values.yaml (with a CI key: the job passes a fresh one);
#      the renderings include the helm test hook (templates/tests/, as `helm template` renders
#      tests unless --skip-tests);
#   3. native kinds: kubectl-validate with its built-in Kubernetes $K8S_VERSION schemas (unknown
#      fields and wrong types fail);
#   4. ServiceMonitor and PrometheusRule: the prometheus-operator schemas of the npm package
#      @kubernetes-models/prometheus-operator; the PrometheusRule's groups must equal
#      files/alerts.yml and the dashboard ConfigMap must hold files/token-swap-gateway.json
#      byte for byte;
#   5. every file of test/deployment/invalid-values is refused by Helm;
#   5b. the helm test pod: one per rendering, the gateway's image and securityContext, labels that
#      the Deployment's selector does not match and that the NetworkPolicy admits to http and ops;
#      tests.enabled=false renders neither it nor its NetworkPolicy rule;
#   6. a chart version bump alone leaves the pod template unchanged (no restart), and a setting
#      change changes it (checksum/config).
# Installs helm and kubectl-validate with `go install` when missing (Go: /usr/local/go/bin is
# added to PATH), and node_modules with `npm ci` when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

KUBECTL_VALIDATE_VERSION=v0.0.4
# The newest Kubernetes minor whose schemas kubectl-validate v0.0.4 embeds; also the chart's
# kubeVersion floor (the preStop hook's native sleep action).
K8S_VERSION=1.30
CHART=helm/token-swap-gateway

# shellcheck source=dev-env.sh
source scripts/dev-env.sh
# shellcheck source=helm.sh
source scripts/helm.sh
GOBIN_DIR="${GOBIN:-$HOME/go/bin}"
export PATH="$GOBIN_DIR:$PATH:/usr/local/go/bin"
KUBECTL_VALIDATE="$GOBIN_DIR/kubectl-validate"

go_install() {
  command -v go >/dev/null || {
    echo "test:chart: Go is needed to install $1 (looked on PATH and in /usr/local/go/bin)" >&2
    exit 1
  }
  echo "test:chart: go install $1" >&2
  GOBIN="$GOBIN_DIR" go install "$1"
}
installed_module_version() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'; }

# Installed when missing, or (where Go can tell) when another version is there.
ensure() { # binary package version (the package's module carries the version)
  if [ ! -x "$1" ] || { command -v go >/dev/null && [ "$(installed_module_version "$1")" != "$3" ]; }; then
    go_install "$2@$3"
  fi
}
HELM=$(ensure_helm 3)
# Helm 4 (the current major) too: it drops null defaults before validating values.schema.json.
HELM4=$(ensure_helm 4)
ensure "$KUBECTL_VALIDATE" sigs.k8s.io/kubectl-validate "$KUBECTL_VALIDATE_VERSION"
[ -d node_modules/@kubernetes-models/prometheus-operator ] && [ -d node_modules/yaml ] ||
  npm ci --no-audit --no-fund >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rendered" "$work/native"

# The minimum --set that makes values.yaml installable (CI-only values, not secrets).
CI_KEY=ci0:Y2ktb25seS1ub3QtYS1zZWNyZXQta2V5LTMyYnl0ZXM
MINIMUM=(
  --set config.spotify.clientId=ci-client-id
  --set 'config.spotify.redirectUris={myapp://callback}'
  --set secret.clientSecret=ci-client-secret
  --set "secret.tokenEncryptionKeys=$CI_KEY"
)
sets=(values.yaml)
for file in "$CHART"/ci/*-values.yaml; do sets+=("ci/$(basename "$file")"); done
# The chart-install CI job's sets (ct install on kind); they leave out the key the job generates.
INSTALL_SETS=.github/ci
for file in "$INSTALL_SETS"/*-values.yaml; do sets+=("$file"); done

echo "== helm $("$HELM" version --template '{{.Version}}'), kubectl-validate $KUBECTL_VALIDATE_VERSION (Kubernetes $K8S_VERSION schemas)"
for set in "${sets[@]}"; do
  name=$(basename "$set" .yaml)
  if [ "$set" = values.yaml ]; then
    args=("${MINIMUM[@]}")
  elif [[ "$set" == "$INSTALL_SETS"/* ]]; then
    name="install-$name"
    args=(-f "$set" --set-string "secret.tokenEncryptionKeys=$CI_KEY")
  else
    args=(-f "$CHART/$set")
  fi
  "$HELM" lint --strict --quiet --kube-version "$K8S_VERSION.0" "$CHART" "${args[@]}" >"$work/lint.txt" 2>&1 || {
    cat "$work/lint.txt" >&2
    echo "test:chart: helm lint --strict failed for $set" >&2
    exit 1
  }
  "$HELM" template tsg "$CHART" --namespace gateway --kube-version "$K8S_VERSION.0" "${args[@]}" \
    >"$work/rendered/$name.yaml"
  "$HELM4" template tsg "$CHART" --namespace gateway --kube-version "$K8S_VERSION.0" "${args[@]}" >/dev/null
  echo "lint + template (Helm 3 and 4): $set"
done

# Helm's own schema validation agrees with the jest test (test/deployment/chart-values-schema):
# each wrong value file, on top of a valid install, is refused.
refused=0
for file in test/deployment/invalid-values/*.yaml; do
  if "$HELM" template tsg "$CHART" --kube-version "$K8S_VERSION.0" -f "$CHART/ci/minimal-values.yaml" -f "$file" \
    >/dev/null 2>"$work/refused.txt"; then
    echo "test:chart: helm accepted $file, which values.schema.json must refuse" >&2
    exit 1
  fi
  grep -q "don't meet the specifications of the schema" "$work/refused.txt" || {
    cat "$work/refused.txt" >&2
    echo "test:chart: helm refused $file, but not by values.schema.json" >&2
    exit 1
  }
  refused=$((refused + 1))
done
echo "refused by helm's schema validation: $refused wrong value files (test/deployment/invalid-values)"

# Without the helm test (and with a NetworkPolicy, whose rule for the test pod must go too).
"$HELM" template tsg "$CHART" --namespace gateway --kube-version "$K8S_VERSION.0" -f "$CHART/ci/minimal-values.yaml" \
  --set tests.enabled=false --set networkPolicy.enabled=true >"$work/rendered/no-tests.yaml"
echo "template: ci/minimal-values.yaml with tests.enabled=false and networkPolicy.enabled=true"

# Splits each rendering: native kinds to $work/native/<set>.yaml for kubectl-validate, the
# prometheus-operator kinds checked here. Prints one line per set; exits non-zero on a problem.
node --input-type=module - "$work" "$CHART" <<'NODE'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments, parse, stringify } from 'yaml';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

const [work, chart] = process.argv.slice(2);
const rules = parse(readFileSync(`${chart}/files/alerts.yml`, 'utf8'));
const dashboard = readFileSync(`${chart}/files/token-swap-gateway.json`, 'utf8');
const monitoring = { ServiceMonitor, PrometheusRule };
const swapTest = readFileSync(`${chart}/files/swap-test.js`, 'utf8');
const problems = [];

const matches = (selector, labels) =>
  Object.keys(selector ?? {}).length > 0 && Object.entries(selector).every(([key, value]) => labels?.[key] === value);

/** The helm test pod of one rendering (templates/tests/swap-test.yaml) against the gateway's. */
function checkTestHook(set, resources) {
  const hooks = resources.filter((resource) => resource.metadata?.annotations?.['helm.sh/hook'] === 'test');
  const policy = resources.find((resource) => resource.kind === 'NetworkPolicy');
  const admits = (pod) =>
    (policy?.spec.ingress ?? []).some(
      (rule) =>
        rule.from.some((peer) => !peer.namespaceSelector && !peer.ipBlock && matches(peer.podSelector?.matchLabels, pod.metadata.labels)) &&
        ['http', 'ops'].every((port) => rule.ports.some((entry) => entry.port === port)),
    );
  if (set === 'no-tests') {
    if (hooks.length > 0) problems.push(`${set}: tests.enabled=false still renders a test hook`);
    if (!policy) problems.push(`${set}: no NetworkPolicy rendered`);
    if ((policy?.spec.ingress ?? []).some((rule) => rule.from.some((peer) => peer.podSelector)))
      problems.push(`${set}: the NetworkPolicy still admits the test pod`);
    return;
  }
  if (hooks.length !== 1 || hooks[0].kind !== 'Pod') {
    problems.push(`${set}: expected one helm test Pod, found ${hooks.map((hook) => hook.kind).join(', ') || 'none'}`);
    return;
  }
  const [pod] = hooks;
  const where = `${set}: test Pod/${pod.metadata.name}`;
  const deployment = resources.find((resource) => resource.kind === 'Deployment');
  const service = resources.find((resource) => resource.kind === 'Service');
  const gateway = deployment.spec.template.spec.containers.find((container) => container.name === 'gateway');
  const [container] = pod.spec.containers;
  const expect = (ok, message) => ok || problems.push(`${where}: ${message}`);
  expect(
    pod.metadata.annotations['helm.sh/hook-delete-policy'] === 'before-hook-creation,hook-succeeded',
    'hook-delete-policy is not before-hook-creation,hook-succeeded',
  );
  expect(pod.spec.restartPolicy === 'Never', 'restartPolicy is not Never');
  expect(pod.spec.automountServiceAccountToken === false, 'mounts a ServiceAccount token');
  expect(pod.spec.containers.length === 1, 'has more than one container');
  expect(container.image === gateway.image, `image ${container.image} is not the gateway's ${gateway.image}`);
  expect(isDeepStrictEqual(container.command, ['node', '-e', swapTest]), 'command is not node -e files/swap-test.js');
  expect(isDeepStrictEqual(pod.spec.securityContext, deployment.spec.template.spec.securityContext), "pod securityContext is not the gateway's");
  expect(isDeepStrictEqual(container.securityContext, gateway.securityContext), "container securityContext is not the gateway's");
  expect(container.resources?.requests && container.resources?.limits?.memory, 'has no requests or no memory limit');
  expect(!matches(deployment.spec.selector.matchLabels, pod.metadata.labels), "labels match the Deployment's selector");
  expect(!matches(service.spec.selector, pod.metadata.labels), "labels match the Service's selector");
  const env = Object.fromEntries(container.env.map((entry) => [entry.name, entry.value]));
  const host = `http://${service.metadata.name}.${service.metadata.namespace ?? 'gateway'}.svc`;
  const port = (name) => service.spec.ports.find((entry) => entry.name === name).port;
  expect(env.GATEWAY_URL?.startsWith(`${host}:${port('http')}`), `GATEWAY_URL ${env.GATEWAY_URL} is not the Service's http port`);
  expect(env.OPS_URL === `${host}:${port('ops')}`, `OPS_URL ${env.OPS_URL} is not the Service's ops port`);
  if (policy) expect(admits(pod), 'the NetworkPolicy does not admit it to the http and ops ports');
}

for (const file of readdirSync(`${work}/rendered`).sort()) {
  const set = file.replace(/\.yaml$/, '');
  const native = [];
  const kinds = [];
  const resources = [];
  for (const document of parseAllDocuments(readFileSync(`${work}/rendered/${file}`, 'utf8'))) {
    if (document.errors.length > 0) problems.push(`${set}: YAML error ${document.errors[0].message}`);
    const resource = document.toJS();
    if (resource === null) continue;
    const where = `${set}: ${resource.kind}/${resource.metadata?.name}`;
    kinds.push(resource.kind);
    resources.push(resource);
    const Model = resource.apiVersion === 'monitoring.coreos.com/v1' ? monitoring[resource.kind] : undefined;
    if (resource.apiVersion?.startsWith('monitoring.coreos.com/') && !Model) {
      problems.push(`${where}: no schema for ${resource.apiVersion}`);
    } else if (Model) {
      try {
        new Model(resource).validate();
      } catch (error) {
        problems.push(`${where}: ${error.message}`);
      }
      if (resource.kind === 'PrometheusRule' && !isDeepStrictEqual(resource.spec, { groups: rules.groups })) {
        problems.push(`${where}: spec.groups differ from files/alerts.yml`);
      }
    } else {
      native.push(stringify(resource));
    }
    if (resource.kind === 'ConfigMap' && resource.metadata.labels?.grafana_dashboard !== undefined) {
      if (resource.data?.['token-swap-gateway.json'] !== dashboard) {
        problems.push(`${where}: data differs from files/token-swap-gateway.json`);
      }
    }
  }
  checkTestHook(set, resources);
  writeFileSync(`${work}/native/${set}.yaml`, native.join('---\n'));
  console.log(`rendered ${set}: ${kinds.length} documents (${kinds.join(', ')})`);
}
for (const problem of problems) console.error(`PROBLEM ${problem}`);
process.exit(problems.length > 0 ? 1 : 0);
NODE
echo "prometheus-operator schemas: ServiceMonitor, PrometheusRule (= files/alerts.yml), dashboard ConfigMap (= files/token-swap-gateway.json)"
echo "helm test pod: the gateway's image and securityContext, outside its selectors, admitted by the NetworkPolicy; none with tests.enabled=false"

"$KUBECTL_VALIDATE" --version "$K8S_VERSION" "$work/native" >"$work/validate.txt" 2>&1 || {
  cat "$work/validate.txt" >&2
  echo "test:chart: kubectl-validate found invalid documents" >&2
  exit 1
}
echo "kubectl-validate --version $K8S_VERSION: $(grep -c OK "$work/validate.txt") rendered sets valid"

# Restarts: the pod template depends on content, not on the chart's version.
pod_template() {
  "$HELM" template tsg "$1" --kube-version "$K8S_VERSION.0" -f "$CHART/ci/minimal-values.yaml" "${@:2}" |
    node --input-type=module -e "
      import { parseAllDocuments } from 'yaml';
      let text = '';
      for await (const chunk of process.stdin) text += chunk;
      const deployment = parseAllDocuments(text).map((d) => d.toJS()).find((r) => r?.kind === 'Deployment');
      console.log(JSON.stringify(deployment.spec.template));"
}
cp -r "$CHART" "$work/bumped"
sed -i 's/^version: .*/version: 9.9.9-ci/' "$work/bumped/Chart.yaml"
base=$(pod_template "$CHART")
[ "$base" = "$(pod_template "$work/bumped")" ] || {
  echo "test:chart: a chart version bump alone changed the pod template (pods would restart)" >&2
  exit 1
}
[ "$base" != "$(pod_template "$CHART" --set config.logLevel=debug)" ] || {
  echo "test:chart: a configuration change left the pod template unchanged (pods would not restart)" >&2
  exit 1
}
[ "$base" != "$(pod_template "$CHART" --set secret.clientSecret=rotated)" ] || {
  echo "test:chart: a secret change left the pod template unchanged (pods would not restart)" >&2
  exit 1
}
echo "checksums: chart version bump keeps the pod template; config and secret changes roll it"

echo "test:chart: OK: ${#sets[@]} value sets linted, rendered and validated (Kubernetes $K8S_VERSION, prometheus-operator CRDs), $refused wrong ones refused, in $(($(date +%s) - started)) s"
