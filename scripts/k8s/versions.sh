# shellcheck shell=bash
# The pinned versions of the local cluster of `npm run test:k8s`, and where they are cached.
# Kubernetes 1.34, not later: this machine kind has cgroup v1, which kubelet >= 1.35 refuses.
KV=v1.34.4
CRICTL_VERSION=v1.34.0
COREDNS_VERSION=v1.14.7
PAUSE_TAG=3.10.1
K8S_CACHE=${TSG_K8S_CACHE:-$HOME/.cache/token-swap-gateway/k8s}/$KV
