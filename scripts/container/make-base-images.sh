#!/usr/bin/env bash
# Makes the LOCAL base images for building and running the gateway's image on a machine that
# cannot pull from any registry (Debian bookworm, root, a running dockerd):
#
#   tsg-local/debian:bookworm             debootstrap --variant=minbase bookworm, imported
#   tsg-local/node:24-bookworm-runtime    + ca-certificates + Node 24 + this machine's CA bundle
#   tsg-local/node:24-bookworm            + npm (cafile = this machine's CA bundle)
#
# then:  docker build --build-arg NODE_IMAGE=tsg-local/node:24-bookworm \
#          --build-arg RUNTIME_IMAGE=tsg-local/node:24-bookworm-runtime .
#
# The machine-specific parts (the CA bundle, NODE_EXTRA_CA_CERTS, npm's cafile) live in these
# local images only, never in the project's Dockerfile. Idempotent and cached: when the tags
# exist it does nothing (--force rebuilds them); the debootstrap root filesystem is kept as a
# tarball under ~/.cache/token-swap-gateway/ so a rebuild does not debootstrap again.
# Non-interactive (CI=true, no stdin). Environment (optional): TSG_DEBIAN_MIRROR (default: the
# machine's apt mirror), TSG_NODE_VERSION (npm version range of Node, default 24), TSG_NPM_VERSION
# (default 11), TSG_CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite=bookworm
debian_tag="tsg-local/debian:${suite}"
build_tag="tsg-local/node:24-${suite}"
runtime_tag="tsg-local/node:24-${suite}-runtime"
node_range="${TSG_NODE_VERSION:-24}"
npm_range="${TSG_NPM_VERSION:-11}"
ca_bundle="${TSG_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/token-swap-gateway/base-images"

log() { printf 'make-base-images: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

force=false
[ "${1:-}" = "--force" ] && force=true

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed)"

if ! $force && have_image "$build_tag" && have_image "$runtime_tag"; then
  log "$build_tag and $runtime_tag already exist; nothing to do (--force rebuilds them)"
  exit 0
fi

started=$SECONDS
dpkg_arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"
case "$dpkg_arch" in
  amd64 | x86_64) dpkg_arch=amd64 node_arch=x64 ;;
  arm64 | aarch64) dpkg_arch=arm64 node_arch=arm64 ;;
  *) die "unsupported architecture $dpkg_arch" ;;
esac

# The machine's Debian mirror: the first non-security URI of its apt sources (deb822 or one-line).
debian_mirror() {
  local uri
  uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' | grep -v -- '-security' | grep '/debian' | head -n 1 || true)"
  if [ -z "$uri" ]; then
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; break } }' |
      grep -v -- '-security' | grep '/debian' | head -n 1 || true)"
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# 1. tsg-local/debian:bookworm from a (cached) debootstrap minbase root filesystem.
if $force || ! have_image "$debian_tag"; then
  rootfs_tar="$cache_dir/debian-${suite}-minbase-${dpkg_arch}.tar"
  if [ ! -s "$rootfs_tar" ]; then
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root (run as root, or put $rootfs_tar in place)"
    if ! command -v debootstrap >/dev/null; then
      log "installing debootstrap (apt-get)"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    fi
    mirror="${TSG_DEBIAN_MIRROR:-$(debian_mirror)}"
    mkdir -p "$cache_dir"
    rootfs="$(mktemp -d "${TMPDIR:-/tmp}/tsg-rootfs.XXXXXX")"
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap --variant=minbase $suite from $mirror (a few minutes; cached afterwards)"
    debootstrap --variant=minbase --arch="$dpkg_arch" --include=ca-certificates \
      "$suite" "$rootfs" "$mirror" >"$cache_dir/debootstrap.log" 2>&1 ||
      { tail -n 30 "$cache_dir/debootstrap.log" >&2; die "debootstrap failed (log: $cache_dir/debootstrap.log)"; }
    # Smaller image, as Debian's slim images do: no downloaded .debs, no package lists (an image
    # build runs apt-get update first), no manuals or translations (copyright files stay).
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* \
      "$rootfs"/debootstrap "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
    find "$rootfs"/usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
    tar -C "$rootfs" --numeric-owner -cf "$rootfs_tar.partial" .
    mv "$rootfs_tar.partial" "$rootfs_tar"
    rm -rf "$rootfs"
    trap - EXIT
    log "root filesystem cached: $rootfs_tar ($(du -h "$rootfs_tar" | cut -f1))"
  else
    log "using the cached root filesystem $rootfs_tar"
  fi
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    "$rootfs_tar" "$debian_tag" >/dev/null
  log "imported $debian_tag"
else
  log "$debian_tag exists"
fi

# 2. Node and npm from the npm registry (the `node` package's real binary comes from its
#    dependency node-linux-<arch>; npm is not in it, so it comes from the `npm` package).
[ -s "$ca_bundle" ] || die "CA bundle $ca_bundle not found (set TSG_CA_BUNDLE)"
context="$(mktemp -d "${TMPDIR:-/tmp}/tsg-base-context.XXXXXX")"
trap 'rm -rf "$context"' EXIT
(
  cd "$context"
  node_tgz="$(npm pack --silent "node-linux-${node_arch}@${node_range}" | tail -n 1)"
  npm_tgz="$(npm pack --silent "npm@${npm_range}" | tail -n 1)"
  mkdir node-package npm
  tar -xzf "$node_tgz" -C node-package --strip-components=1
  tar -xzf "$npm_tgz" -C npm --strip-components=1
  mv node-package/bin/node node
  chmod 0755 node # COPY keeps the mode: a chmod in the image would copy the binary into a new layer
  rm -rf node-package ./*.tgz
)
node_version="$("$context/node" --version)"
cp "$ca_bundle" "$context/host-ca-bundle.crt"
chmod 0644 "$context/host-ca-bundle.crt"
cp "$here/base.Dockerfile" "$context/Dockerfile"
log "node $node_version, npm $(node -p 'require(process.argv[1]).version' "$context/npm/package.json")"

for target in runtime build; do
  tag="$runtime_tag"
  [ "$target" = build ] && tag="$build_tag"
  docker build --network host --quiet --target "$target" \
    --build-arg "DEBIAN_IMAGE=$debian_tag" --build-arg "NODE_VERSION=${node_version#v}" \
    -t "$tag" "$context" >/dev/null
  log "built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
done
log "done in $((SECONDS - started)) s"
