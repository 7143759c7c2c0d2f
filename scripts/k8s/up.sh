#!/usr/bin/env bash
# Starts the single-node Kubernetes of `npm run test:k8s`, offline, as root, from the binaries
# scripts/k8s/build.sh cached under $K8S_CACHE; its state lives under $TSG_K8S_RUN (default
# /tmp/token-swap-gateway-k8s), made fresh by every run and removed by down.sh.
#   etcd 3.4 (Debian) -> kube-apiserver -> controller-manager, scheduler -> containerd 1.6
#   (Debian, CRI) -> kubelet -> kube-proxy (iptables) -> CoreDNS.
# Addresses: node IP 10.200.0.1 on lo (apiserver https://10.200.0.1:6443, kubelet :10250); pods
# 10.244.0.0/24 on the bridge k8sbr0 (gateway 10.244.0.1) with no default route and no
# masquerade: a pod reaches pods, Services and the node IP, nothing else; Services 10.96.0.0/24,
# routed from the host into the bridge, so the host reaches ClusterIPs (kube-proxy DNATs them in
# OUTPUT); cluster DNS 10.96.0.10 (CoreDNS answers cluster.local only, no upstream). Everything
# else listens on 127.0.0.1. Every daemon's pid is recorded under $TSG_K8S_RUN/pids.
#
# Adapted from the recorded bring-up (../shared/reference/k8s-local/up.sh). What changed and why:
# - binaries from the cache, state in a run directory that is fresh per run (certificates too:
#   generating them takes about 2 s), so a run never inherits a previous run's objects;
# - no pull-only registry process: every image is imported before pods start, and containerd's
#   registry hosts all point at 127.0.0.1:5055 where nothing listens (a missing image fails to
#   pull at once; nothing is fetched off the machine);
# - it never builds: scripts/k8s/run.sh runs build.sh first, with its own time bound;
# - every wait is bounded and a failure exits non-zero (run.sh then says loudly that the cluster
#   could not start here, tears down and exits 0).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
source "$HERE/versions.sh"
S=$K8S_CACHE
B=$S/bin
R=${TSG_K8S_RUN:-/tmp/token-swap-gateway-k8s}
P=$R/pki
NODE=k8s-node
NIP=10.200.0.1
BR=k8sbr0
export K8S_DIR=$R
mkdir -p "$R"/{logs,pids,etcd,kubelet,apiserver-certs,cm-certs,sched-certs,containerd/root,containerd/state,cni/net.d,runc-root}
chmod 700 "$R/etcd"
export KUBECONFIG=$R/admin.kubeconfig
K=$B/kubectl
log() { echo "k8s up: $*" >&2; }
start() { # name cmd... ; runs detached in its own session, pid in $R/pids/name.pid
  local n=$1
  shift
  setsid "$@" >>"$R/logs/$n.log" 2>&1 </dev/null &
  echo $! >"$R/pids/$n.pid"
}
waitfor() { # what tries cmd...
  local what=$1 tries=$2
  shift 2
  for _ in $(seq 1 "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  log "timeout waiting for $what"
  return 1
}

# --- network: node IP on lo (no dummy kernel module here), bridge for pods, the service range
# routed into the bridge: a ClusterIP that kube-proxy does not (yet) DNAT dies in the bridge
# instead of following the host's default route off the machine.
# (No `ip ... | grep -q` here or in down.sh: under pipefail, grep's early exit can SIGPIPE ip and
# turn a match into a failure.)
[ -n "$(ip -o addr show dev lo to $NIP/32)" ] || ip addr add $NIP/32 dev lo
ip link show $BR >/dev/null 2>&1 || { ip link add $BR type bridge && ip link set $BR up; }
[ -n "$(ip route show 10.96.0.0/24 dev $BR 2>/dev/null)" ] || ip route add 10.96.0.0/24 dev $BR
# Pod -> Service -> pod on one bridge needs bridged frames to pass iptables (br_netfilter). The
# host's sysctls are not changed here: it says what is missing.
[ "$(sysctl -n net.bridge.bridge-nf-call-iptables 2>/dev/null)" = 1 ] ||
  log "warning: net.bridge.bridge-nf-call-iptables is not 1: pods will not reach Services"

# --- certificates and kubeconfigs
NODE_IP=$NIP NODE=$NODE "$HERE/gen-certs.sh" >/dev/null

# --- etcd (loopback only, plain http)
start etcd etcd --name local --data-dir "$R/etcd" --listen-client-urls http://127.0.0.1:23790 \
  --advertise-client-urls http://127.0.0.1:23790 --listen-peer-urls http://127.0.0.1:23800 \
  --initial-advertise-peer-urls http://127.0.0.1:23800 --initial-cluster local=http://127.0.0.1:23800 \
  --listen-metrics-urls http://127.0.0.1:23810
waitfor etcd 60 curl -sf http://127.0.0.1:23790/health

# --- control plane. --kubelet-preferred-address-types=InternalIP: the node's name resolves
# nowhere, so logs/exec must reach the kubelet at its InternalIP (else the apiserver asks the
# host's resolver, a query that leaves the machine).
start kube-apiserver "$B/kube-apiserver" --etcd-servers=http://127.0.0.1:23790 --bind-address=$NIP \
  --advertise-address=$NIP --secure-port=6443 --cert-dir="$R/apiserver-certs" --tls-cert-file="$P/apiserver.crt" \
  --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" --service-account-key-file="$P/sa.pub" \
  --service-account-signing-key-file="$P/sa.key" --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range=10.96.0.0/24 --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --kubelet-client-certificate="$P/apiserver-kubelet-client.crt" --kubelet-client-key="$P/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP --allow-privileged=true --profiling=false
waitfor apiserver 90 "$K" get --raw /readyz
start kube-controller-manager "$B/kube-controller-manager" --kubeconfig="$R/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$R/controller-manager.kubeconfig" --authorization-kubeconfig="$R/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=10257 --cert-dir="$R/cm-certs" --service-account-private-key-file="$P/sa.key" \
  --root-ca-file="$P/ca.crt" --use-service-account-credentials=true --cluster-signing-cert-file="$P/ca.crt" \
  --cluster-signing-key-file="$P/ca.key" --service-cluster-ip-range=10.96.0.0/24 --leader-elect=false --profiling=false
start kube-scheduler "$B/kube-scheduler" --kubeconfig="$R/scheduler.kubeconfig" --authentication-kubeconfig="$R/scheduler.kubeconfig" \
  --authorization-kubeconfig="$R/scheduler.kubeconfig" --bind-address=127.0.0.1 --secure-port=10259 --cert-dir="$R/sched-certs" \
  --leader-elect=false --profiling=false

# --- containerd: its own socket, root and state (never the host's /run/containerd, which the
# Docker engine may use). restrict_oom_score_adj: lowering a container's oom_score_adj below
# containerd's own needs CAP_SYS_RESOURCE, which this machine kind lacks (every pod would fail
# with "runc create failed ... can't get final child's PID from pipe: EOF"); with it the value is
# clamped. SystemdCgroup=false: no systemd here, kubelet uses cgroupfs.
cat >"$R/containerd/config.toml" <<T
version = 2
root = "$R/containerd/root"
state = "$R/containerd/state"
[grpc]
  address = "$R/containerd/containerd.sock"
[ttrpc]
  address = "$R/containerd/containerd.sock.ttrpc"
[debug]
  address = "$R/containerd/debug.sock"
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:$PAUSE_TAG"
    enable_selinux = false
    restrict_oom_score_adj = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
          BinaryName = "/usr/sbin/runc"
          Root = "$R/runc-root"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "$R/cni/net.d"
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "$R/certs.d"
T
# Pods get routes to the pod range, the service range and the node IP only: no default route,
# no masquerade; nothing a pod runs can reach an address off this machine.
cat >"$R/cni/net.d/10-k8s.conflist" <<T
{"cniVersion": "0.4.0", "name": "k8s", "plugins": [
  {"type": "bridge", "bridge": "$BR", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24", "gateway": "10.244.0.1"}]],
            "routes": [{"dst": "10.244.0.0/16"}, {"dst": "10.96.0.0/24"}, {"dst": "$NIP/32"}],
            "dataDir": "$R/cni/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
T
# Every registry an image may name resolves to a loopback port where nothing listens.
for h in docker.io registry.k8s.io quay.io ghcr.io gcr.io; do
  mkdir -p "$R/certs.d/$h"
  printf 'server = "http://127.0.0.1:5055"\n\n[host."http://127.0.0.1:5055"]\n  capabilities = ["pull", "resolve"]\n' >"$R/certs.d/$h/hosts.toml"
done
start containerd containerd --config "$R/containerd/config.toml"
CS=$R/containerd/containerd.sock
waitfor containerd 60 ctr -a "$CS" version
for i in pause coredns redis; do ctr -a "$CS" -n k8s.io images import "$S/images/$i.tar" >/dev/null; done
printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\n' "$CS" "$CS" >"$R/crictl.yaml"

# --- kubelet. resolvConf "": pods with dnsPolicy Default get no host resolvers.
cat >"$R/kubelet-config.yaml" <<T
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NIP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $P/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $P/kubelet-serving.crt
tlsPrivateKeyFile: $P/kubelet-serving.key
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CS
clusterDomain: cluster.local
clusterDNS: [10.96.0.10]
resolvConf: ""
failSwapOn: false
podCIDR: 10.244.0.0/24
maxPods: 50
serializeImagePulls: false
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
evictionHard: {memory.available: "100Mi", nodefs.available: "2%", imagefs.available: "2%"}
T
# K8S_KERNEL_TUNABLES=warn (build.sh's patch): kubelet leaves the host's kernel sysctls
# (kernel.panic, kernel.panic_on_oops, vm.overcommit_memory) alone and only logs them.
start kubelet env K8S_KERNEL_TUNABLES=warn "$B/kubelet" --config="$R/kubelet-config.yaml" \
  --kubeconfig="$R/kubelet.kubeconfig" --root-dir="$R/kubelet" --cert-dir="$R/kubelet/pki" \
  --hostname-override=$NODE --node-ip=$NIP --v=1

# --- kube-proxy (iptables), NodePorts only on the node IP, no conntrack sysctl changes. Its
# config file is written once per run (kube-proxy exits when the file it reads is rewritten).
cat >"$R/kube-proxy-config.yaml" <<T
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $R/kube-proxy.kubeconfig}
hostnameOverride: $NODE
mode: iptables
clusterCIDR: 10.244.0.0/16
bindAddress: $NIP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$NIP/32"]
iptables: {localhostNodePorts: false, masqueradeAll: false}
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s, udpTimeout: 0s, udpStreamTimeout: 0s}
T
start kube-proxy "$B/kube-proxy" --config="$R/kube-proxy-config.yaml"
waitfor "node Ready" 120 "$K" wait --for=condition=Ready node/$NODE --timeout=2s

# --- CoreDNS: cluster.local only (no forward plugin: no query ever leaves the machine)
"$K" apply -f "$HERE/coredns.yaml" >/dev/null
"$K" -n kube-system rollout status deploy/coredns --timeout=120s >/dev/null
log "cluster up: $("$K" get node $NODE -o jsonpath='{.status.nodeInfo.kubeletVersion}') on $NODE ($NIP)"
