# shellcheck shell=bash
# The Helm versions the project tests with, and where they live; sourced by scripts/test-chart.sh
# (Helm 3 only) and scripts/k8s/run.sh (both majors). Installed with `go install` from the Go
# module proxy when missing or at another version:
#   helm_path 3  ->  $GOBIN_DIR/helm        (helm.sh/helm/v3, the binary test:chart has always used)
#   helm_path 4  ->  $GOBIN_DIR/helm4/helm  (helm.sh/helm/v4: the current major)
HELM3_VERSION=v3.22.0
HELM4_VERSION=v4.3.2
GOBIN_DIR="${GOBIN:-$HOME/go/bin}"

helm_path() { # major
  if [ "$1" = 3 ]; then echo "$GOBIN_DIR/helm"; else echo "$GOBIN_DIR/helm$1/helm"; fi
}

# Installs Helm <major> when missing or at another version; prints its path.
ensure_helm() { # major
  local major=$1 version path
  if [ "$major" = 3 ]; then version=$HELM3_VERSION; else version=$HELM4_VERSION; fi
  path=$(helm_path "$major")
  local go=go
  command -v go >/dev/null || go=/usr/local/go/bin/go
  if [ ! -x "$path" ] || { "$go" version >/dev/null 2>&1 &&
    [ "$("$go" version -m "$path" 2>/dev/null | awk '$1 == "mod" { print $3; exit }')" != "$version" ]; }; then
    "$go" version >/dev/null 2>&1 || {
      echo "helm: Go is needed to install Helm $major (looked on PATH and in /usr/local/go/bin)" >&2
      return 1
    }
    echo "helm: go install helm.sh/helm/v$major/cmd/helm@$version" >&2
    GOBIN="$(dirname "$path")" nice -n 10 "$go" install "helm.sh/helm/v$major/cmd/helm@$version" >&2 || return 1
  fi
  echo "$path"
}
