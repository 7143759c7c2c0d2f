#!/usr/bin/env bash
# npm run test:k8s (DESIGN §9, issue 20): the Helm chart on a real single-node Kubernetes started
# on this machine, and the operations an operator relies on, under load.
#   1. builds the pinned binaries when missing (scripts/k8s/build.sh; cached outside the
#      repository, under ~/.cache/token-swap-gateway/k8s) and Helm 3 and 4 (scripts/helm.sh);
#   2. starts the cluster (scripts/k8s/up.sh), imports the image token-swap-gateway:test that
#      `npm run test:container` built in the local Docker engine (also tagged :ci, the tag of
#      the CI install sets);
#   3. runs the scenarios (test/k8s/scenarios.ts), which print each one's figures;
#   4. tears everything down (scripts/k8s/down.sh: pods, processes by pid, mounts, cgroups,
#      iptables chains, bridge, route, address), also on failure, ctrl-C or timeout.
# Bounded: each phase has its own timeout and the whole run TSG_K8S_TIMEOUT_MIN minutes (default
# 75; a cold build is most of it). Where the cluster cannot start here (not root, no Linux
# cgroups, no Go or module proxy to build from, no image because no Docker engine, a daemon that
# does not come up) it says so loudly and exits 0, like test:container, so the rest of CI runs.
# A failed scenario, or a teardown that leaves something behind, exits 1.
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=versions.sh
source scripts/k8s/versions.sh
export TSG_K8S_RUN=${TSG_K8S_RUN:-/tmp/token-swap-gateway-k8s}
started=$(date +%s)
IMAGE=token-swap-gateway:test

say() { echo "test:k8s: $*"; }
elapsed() { echo "$(($(date +%s) - ${1:-$started})) s"; }
skip() {
  echo
  echo "############################################################################"
  echo "test:k8s: DID NOT RUN: $*"
  echo "test:k8s: no Kubernetes scenario was checked; exiting 0 so that the rest of CI runs."
  echo "############################################################################"
  echo
  exit 0
}

[ "$(uname -s)" = Linux ] || skip "Linux only (kubelet, containerd, iptables)"
[ "$(id -u)" = 0 ] || skip "needs root (kubelet, containerd, a bridge and iptables on the host)"
[ -d /sys/fs/cgroup ] || skip "no cgroup filesystem"
command -v flock >/dev/null || skip "no flock (util-linux)"
docker image inspect "$IMAGE" >/dev/null 2>&1 ||
  skip "no image $IMAGE in a local Docker engine (npm run test:container builds it; did it run?)"

# One run per machine at a time: the cluster's addresses, bridge and ports are fixed.
exec 8>"${TMPDIR:-/tmp}/token-swap-gateway-k8s.lock"
flock -w 1800 8 || { say "another test:k8s run holds the lock for 30 min; giving up"; exit 1; }

# The whole run's bound: a watchdog sends SIGTERM, which tears down below.
# (Every child gets fd 8 closed, so that nothing but this script holds the lock.)
(
  exec 8>&-
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  sleep $((${TSG_K8S_TIMEOUT_MIN:-75} * 60)) &
  sleeper=$!
  wait "$sleeper" && echo "test:k8s: TIMEOUT after ${TSG_K8S_TIMEOUT_MIN:-75} min" >&2 && kill -TERM $$
) &
watchdog=$!
child=''
rc=0
started_cluster=0
cleanup() {
  local status=$?
  [ "$rc" = 0 ] && rc=$status
  trap - EXIT INT TERM
  [ -n "$child" ] && kill "$child" 2>/dev/null && wait "$child" 2>/dev/null
  kill "$watchdog" 2>/dev/null
  if [ $started_cluster = 1 ]; then
    local down=$(date +%s)
    say "tearing down"
    bash scripts/k8s/down.sh 8>&- || rc=1
    say "teardown took $(elapsed "$down")"
  fi
  say "total $(elapsed)"
  exit $rc
}
on_signal() {
  say "interrupted"
  rc=1
  cleanup
}
trap cleanup EXIT
trap on_signal INT TERM
# Runs a phase in the background and waits for it, so that a signal is handled at once.
phase() { # minutes cmd...
  local minutes=$1
  shift
  timeout -k 10 "${minutes}m" "$@" 8>&- &
  child=$!
  wait "$child"
  local code=$?
  child=''
  return $code
}

# --- 1. binaries
t=$(date +%s)
phase 45 bash scripts/k8s/build.sh || skip "could not build the cluster's binaries (log above): no Go or module proxy, or apt?"
HELM3=$(phase 10 bash -c 'source scripts/helm.sh && ensure_helm 3') || skip "could not install Helm 3"
HELM4=$(phase 10 bash -c 'source scripts/helm.sh && ensure_helm 4') || skip "could not install Helm 4"
say "binaries ready in $(elapsed "$t") ($K8S_CACHE; $HELM3, $HELM4)"

# --- 2. cluster: a previous run that was killed hard may have left it; down.sh clears that first.
bash scripts/k8s/down.sh >/dev/null 2>&1 8>&-
started_cluster=1
t=$(date +%s)
if ! phase 5 bash scripts/k8s/up.sh; then
  for log in "$TSG_K8S_RUN"/logs/*.log; do
    [ -f "$log" ] && { echo "--- last lines of $log"; tail -n 15 "$log"; }
  done
  bash scripts/k8s/down.sh 8>&-
  started_cluster=0
  skip "the cluster could not start on this machine (logs above)"
fi
say "cluster up in $(elapsed "$t")"
export KUBECONFIG=$TSG_K8S_RUN/admin.kubeconfig
CS=$TSG_K8S_RUN/containerd/containerd.sock
t=$(date +%s)
docker save "$IMAGE" | timeout 300 ctr -a "$CS" -n k8s.io images import - >/dev/null &&
  ctr -a "$CS" -n k8s.io images tag --force "docker.io/library/$IMAGE" docker.io/library/token-swap-gateway:ci >/dev/null ||
  { say "could not import $IMAGE into the cluster's containerd"; rc=1; exit 1; }
say "image $IMAGE imported in $(elapsed "$t")"

# --- 3. scenarios
source scripts/dev-env.sh >/dev/null
[ -d node_modules/undici ] || npm ci --no-audit --no-fund >/dev/null
export TSG_K8S_KUBECTL=$K8S_CACHE/bin/kubectl TSG_K8S_HELM3=$HELM3 TSG_K8S_HELM4=$HELM4
t=$(date +%s)
phase 25 node test/k8s/scenarios.ts
rc=$?
say "scenarios took $(elapsed "$t")"
if [ $rc != 0 ]; then
  say "state of the cluster after the failure:"
  "$TSG_K8S_KUBECTL" get pods -A -o wide 2>&1 | tail -n 30
  "$TSG_K8S_KUBECTL" get events -A --sort-by=.lastTimestamp 2>&1 | tail -n 30
fi
# --- 4. cleanup (trap)
