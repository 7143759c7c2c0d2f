#!/usr/bin/env bash
# Tears down what scripts/k8s/up.sh started under $TSG_K8S_RUN (default /tmp/token-swap-gateway-k8s),
# in this order: pods through CRI (so CNI releases their addresses and kubelet's mounts go), the
# daemons by the pids up.sh recorded, containerd shims bound to our socket (by pid), mounts under
# the run directory, kubelet's kubepods cgroups, the KUBE-*/CNI-* iptables rules and chains, the
# bridge, the service route and the node address on lo; then the run directory itself. Never
# kills by name. Safe to run twice, and on a half-started cluster. Exits non-zero if something it
# started is still there afterwards (a process, a mount, the bridge).
#
# Adapted from the recorded bring-up (../shared/reference/k8s-local/down.sh). What changed and why:
# the run directory is removed (state is fresh per run; the cached binaries stay under
# $K8S_CACHE); no registry process; a final check that lists what is left, so `npm run test:k8s`
# can fail when teardown is incomplete instead of leaving it for the next run.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
source "$HERE/versions.sh"
B=$K8S_CACHE/bin
R=${TSG_K8S_RUN:-/tmp/token-swap-gateway-k8s}
BR=k8sbr0
NIP=10.200.0.1
[ -d "$R" ] || [ -n "$(ip link show $BR 2>/dev/null)" ] || [ -n "$(ip -o addr show dev lo to $NIP/32)" ] || exit 0
log() { echo "k8s down: $*" >&2; }
alive() { [ -f "$R/pids/$1.pid" ] && kill -0 "$(cat "$R/pids/$1.pid")" 2>/dev/null; }
stop() {
  local n=$1 f=$R/pids/$1.pid p
  [ -f "$f" ] || return 0
  p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null; then
    kill "$p"
    for _ in $(seq 1 20); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.5
    done
    kill -0 "$p" 2>/dev/null && kill -9 "$p" && sleep 0.5
  fi
  kill -0 "$p" 2>/dev/null || rm -f "$f"
}

stop kube-scheduler
stop kube-controller-manager
stop kubelet
CS=$R/containerd/containerd.sock
if [ -S "$CS" ] && alive containerd; then
  C="$B/crictl --config $R/crictl.yaml --timeout 20s"
  pods=$($C pods -q 2>/dev/null)
  # shellcheck disable=SC2086
  [ -n "$pods" ] && $C stopp $pods >/dev/null 2>&1
  $C rmp -af >/dev/null 2>&1
  ctr -a "$CS" -n k8s.io tasks ls -q 2>/dev/null | while read -r t; do ctr -a "$CS" -n k8s.io tasks kill -s KILL "$t" 2>/dev/null; done
fi
stop containerd
# Shims outlive containerd: those bound to our socket, by pid.
for p in $(pgrep -f containerd-shim-runc-v2); do
  grep -qa "$CS" "/proc/$p/cmdline" 2>/dev/null && kill -9 "$p" 2>/dev/null
done
if [ -f "$R/pids/kube-proxy.pid" ]; then
  stop kube-proxy
  "$B/kube-proxy" --cleanup >/dev/null 2>&1
fi
stop kube-apiserver
stop etcd

# Mounts under the run directory, deepest first.
grep -o " $R[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
# Network namespaces: crictl rmp removed ours; any cni-* left may be someone else's: only listed.
ls /var/run/netns 2>/dev/null | grep '^cni-' | sed 's/^/k8s down: leftover netns (not ours to delete?): /' >&2
# kubelet's QoS cgroups (only empty ones can be removed).
for h in /sys/fs/cgroup/*/; do [ -d "$h/kubepods" ] && find "$h/kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null; done
# iptables rules and chains of kubelet, kube-proxy and the CNI portmap plugin.
if command -v iptables-save >/dev/null; then
  for t in filter nat mangle; do
    chains=$(iptables-save -t $t 2>/dev/null | grep -oE '^:(KUBE|CNI)[^ ]*' | cut -c2-)
    iptables-save -t $t 2>/dev/null | grep -E '^-A [A-Z]+ .*-j (KUBE|CNI)' | sed 's/^-A/-D/' |
      while read -r rule; do eval iptables -t $t "$rule" 2>/dev/null; done
    for c in $chains; do iptables -t $t -F "$c" 2>/dev/null; done
    for c in $chains; do iptables -t $t -X "$c" 2>/dev/null; done
  done
fi
# containerd 1.6 keeps shim sockets and fifos under /run/containerd whatever its state directory:
# removed only when empty (the Docker engine's containerd may use them).
rmdir /run/netns 2>/dev/null
rmdir /run/containerd/s /run/containerd/fifo /run/containerd/runc/k8s.io /run/containerd/runc /run/containerd 2>/dev/null
ip link show $BR >/dev/null 2>&1 && ip link del $BR
[ -n "$(ip route show 10.96.0.0/24 dev $BR 2>/dev/null)" ] && ip route del 10.96.0.0/24 dev $BR
[ -n "$(ip -o addr show dev lo to $NIP/32)" ] && ip addr del $NIP/32 dev lo

# What is left of ours?
left=()
for f in "$R"/pids/*.pid; do [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && left+=("process $(basename "$f" .pid) $(cat "$f")"); done
for p in $(pgrep -f containerd-shim-runc-v2); do grep -qa "$CS" "/proc/$p/cmdline" 2>/dev/null && left+=("shim $p"); done
grep -q " $R" /proc/mounts && left+=("mounts under $R")
ip link show $BR >/dev/null 2>&1 && left+=("bridge $BR")
command -v iptables-save >/dev/null && [ -n "$(iptables-save 2>/dev/null | grep -E '^:(KUBE|CNI)')" ] &&
  left+=("iptables chains KUBE-*/CNI-*")
[ -n "$(ip -o addr show dev lo to $NIP/32)" ] && left+=("address $NIP on lo")
[ -n "$(ip route show 10.96.0.0/24)" ] && left+=("route 10.96.0.0/24")
if ((${#left[@]})); then
  log "LEFT BEHIND: ${left[*]}"
  exit 1
fi
rm -rf "$R"
log "nothing left running or mounted"
