#!/usr/bin/env bash
# Builds what scripts/k8s/up.sh needs, once, into $TSG_K8S_CACHE (default
# ~/.cache/token-swap-gateway/k8s, outside the repository so a fresh clone reuses it):
#   bin/     Kubernetes $KV (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
#            kube-proxy, kubectl) from the Go module proxy, crictl, coredns;
#   images/  image tarballs for `ctr import` (pause, coredns, redis).
# Debian packages it needs (containerd 1.6, runc, CNI plugins, etcd 3.4, iptables, conntrack,
# redis-server for the redis image) come from apt when missing. Idempotent: skips what exists;
# heavy steps run under nice -n 19 (the machine is shared). Cold: about 6-10 min on 2 cores
# (Kubernetes is most of it; the Go build cache grows by a few GB); warm: under a second.
#
# Adapted from the recorded bring-up (../shared/reference/k8s-local/build.sh). What changed and why:
# - the cache lives under ~/.cache/token-swap-gateway/k8s/<version> (not /tmp), so CI on this
#   machine and a second clone find it; a version bump builds into a new directory;
# - Helm is not built here: scripts/helm.sh owns the Helm versions (test:chart uses the same);
# - no busybox/nginx images and no pull-only registry: the scenarios use only the gateway's image
#   (from the local Docker engine), redis, coredns and pause, all imported into containerd before
#   any pod starts; containerd maps every registry to a loopback port where nothing listens, so
#   an image that is missing fails to pull at once and nothing is fetched off the machine;
# - the redis image has no persistence flags baked in: the scenarios' manifest turns on the
#   append-only file on a volume (test/k8s/manifests/redis.yaml);
# - a build lock (flock), so two runs on one machine never build into the same directory at once.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
source "$HERE/versions.sh"
C=$K8S_CACHE
B=$C/bin
export PATH=$PATH:/usr/local/go/bin GOWORK=off CGO_ENABLED=0
mkdir -p "$B" "$C/images"
exec 9>"$C/.build.lock"
flock 9

log() { echo "k8s build: $*" >&2; }

# --- Debian packages. policy-rc.d keeps the packages' services from starting.
need=()
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || [ -x /usr/sbin/runc ] || need+=(runc)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v etcd >/dev/null || need+=(etcd-server)
command -v iptables >/dev/null || need+=(iptables)
command -v conntrack >/dev/null || need+=(conntrack)
command -v ip >/dev/null || need+=(iproute2)
command -v flock >/dev/null || need+=(util-linux)
[ -x /usr/bin/redis-server ] || need+=(redis-server)
command -v openssl >/dev/null || need+=(openssl)
if ((${#need[@]})); then
  log "apt-get install ${need[*]}"
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  nice -n 19 apt-get update -qq >/dev/null
  nice -n 19 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

# --- Kubernetes from the Go module proxy. k8s.io/kubernetes's go.mod replaces its k8s.io/* deps
# by ./staging/src/..., which the module zip does not hold: rewrite them to the published k8s.io/*
# modules of the same release ($SV = v0.34.x).
SV=v0.${KV#v1.}
missing=0
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do [ -x "$B/$b" ] || missing=1; done
if [ $missing = 1 ]; then
  log "building Kubernetes $KV from the Go module proxy (several minutes)"
  J=$(nice -n 19 go mod download -json "k8s.io/kubernetes@$KV")
  DIR=$(echo "$J" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])')
  rm -rf "$C/src"
  cp -r "$DIR" "$C/src"
  chmod -R u+w "$C/src"
  cd "$C/src"
  sed -i -E "s#^(\s*)(k8s\.io/[a-z0-9-]+) => \./staging/src/k8s\.io/[a-z0-9-]+#\1\2 => \2 $SV#" go.mod
  # Kernel-tunables patch: at start kubelet sets host sysctls (vm.overcommit_memory, kernel.panic,
  # kernel.panic_on_oops, ...) and exits when it cannot, or, if it can, changes the whole host.
  # With K8S_KERNEL_TUNABLES=warn (set by up.sh) it logs the differing values and leaves the
  # host alone. The host's kernel panic settings must never change.
  python3 - <<'PY'
p='pkg/kubelet/cm/container_manager_linux.go'; s=open(p).read()
old="\tb := KernelTunableModify\n"
if 'K8S_KERNEL_TUNABLES' not in s:
    assert old in s, 'kubelet source changed: kernel-tunables patch does not apply'
    s=s.replace(old, old+'\tif os.Getenv("K8S_KERNEL_TUNABLES") == "warn" {\n\t\tb = KernelTunableWarn\n\t}\n'); open(p,'w').write(s)
PY
  LDF="-s -w -X k8s.io/component-base/version.gitVersion=$KV -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$KV" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$KV"
  GOFLAGS="-mod=mod -buildvcs=false" nice -n 19 go build -ldflags "$LDF" -o "$B/" ./cmd/kube-apiserver \
    ./cmd/kube-controller-manager ./cmd/kube-scheduler ./cmd/kubelet ./cmd/kube-proxy ./cmd/kubectl
  cd "$C"
  rm -rf "$C/src"
fi
export GOBIN=$B GOFLAGS=-buildvcs=false
[ -x "$B/crictl" ] || { log "go install crictl $CRICTL_VERSION"; nice -n 19 go install -ldflags '-s -w' "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"; }
[ -x "$B/coredns" ] || { log "go install coredns $COREDNS_VERSION"; nice -n 19 go install -ldflags '-s -w' "github.com/coredns/coredns@$COREDNS_VERSION"; }

# --- pause binary (static Go; the sandbox image of every pod): reaps children, exits on INT/TERM
cd "$C/images"
if [ ! -x pause/pause ]; then
  mkdir -p pause
  cd pause
  cat >main.go <<'GO'
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
GO
  printf 'module pause\ngo 1.22\n' >go.mod
  GOBIN='' nice -n 19 go build -ldflags '-s -w' -o pause .
  cd ..
fi

# --- images: tarballs for `ctr import`
if [ -f pause.tar ] && [ -f coredns.tar ] && [ -f redis.tar ]; then
  log "ok ($C)"
  exit 0
fi
M="nice -n 19 python3 $HERE/mkimage.py"
rm -rf pause-root dns-root redis-root
mkdir -p pause-root
cp pause/pause pause-root/pause
mkdir -p dns-root/etc/coredns dns-root/tmp
cp "$B/coredns" dns-root/coredns
# redis: Debian's redis-server with the shared libraries ldd names (no shell, no redis-cli).
mkdir -p redis-root/{usr/bin,etc,tmp,data}
chmod 1777 redis-root/tmp redis-root/data
cp /usr/bin/redis-server redis-root/usr/bin/
for l in $(ldd /usr/bin/redis-server | grep -oE '/[^ ]+'); do
  mkdir -p "redis-root$(dirname "$l")"
  cp -L "$l" "redis-root$l"
done
printf 'root:x:0:0:root:/root:/bin/false\nredis:x:999:999:redis:/data:/bin/false\n' >redis-root/etc/passwd
printf 'root:x:0:\nredis:x:999:\n' >redis-root/etc/group
$M pause-root pause.tar "registry.k8s.io/pause:$PAUSE_TAG" --entrypoint '["/pause"]' >/dev/null
$M dns-root coredns.tar "docker.io/local/coredns:${COREDNS_VERSION#v}" --entrypoint '["/coredns"]' >/dev/null
$M redis-root redis.tar docker.io/local/redis:7 --workdir /data --entrypoint '["/usr/bin/redis-server"]' >/dev/null
rm -rf pause-root dns-root redis-root
log "ok ($C)"
