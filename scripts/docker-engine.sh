#!/usr/bin/env bash
# Makes sure a Docker engine answers, for `npm run test:container` (and docker-compose runs).
# When none does and we are root on Debian: installs docker.io (and debootstrap, which the local
# base images need) and starts dockerd the only way this machine kind allows: no iptables, no
# bridge network (containers use the host network). Never fails: when no engine can be had it
# says why, and the container test then prints its own loud "did NOT run" banner.
set -uo pipefail

log() { echo "docker-engine: $*" >&2; }

if docker info >/dev/null 2>&1; then
  log "an engine already answers"
  exit 0
fi

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "no dockerd and cannot install one (needs root and apt-get)"
    exit 0
  fi
  log "installing docker.io and debootstrap (Debian packages)"
  apt-get update -qq >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io debootstrap \
    >/dev/null 2>&1 || { log "apt-get install docker.io failed"; exit 0; }
fi

if [ "$(id -u)" != 0 ]; then
  log "dockerd is installed but not running, and only root can start it here"
  exit 0
fi

engine_log="${TMPDIR:-/tmp}/token-swap-gateway-dockerd.log"
log "starting dockerd (overlay2, no iptables, no bridge); log in $engine_log"
nohup dockerd --storage-driver=overlay2 --iptables=false --bridge=none >"$engine_log" 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "engine up: $(docker version --format '{{.Server.Version}}' 2>/dev/null)"
    exit 0
  fi
  sleep 1
done
log "dockerd did not answer within 60 s; last lines of its log:"
tail -n 20 "$engine_log" >&2
exit 0
