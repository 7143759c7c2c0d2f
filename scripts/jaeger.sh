#!/usr/bin/env bash
# Prints the path of the Jaeger binary the tracing test (test/tracing-jaeger.e2e-spec.ts) starts,
# building it first when missing: Jaeger $JAEGER_VERSION (`github.com/jaegertracing/jaeger/cmd/jaeger`,
# all-in-one with its OTLP receiver and in-memory storage) from the Go module proxy, with
# `go get -tool` in a scratch module, cached outside the repository. The build takes about 6
# minutes on 2 cores; .ci/run runs this before `npm test`. Exits non-zero when Go is missing or
# the build fails (the test then skips and says why).
set -euo pipefail

JAEGER_VERSION=v1.75.0
CACHE="${TSG_CACHE_DIR:-$HOME/.cache/token-swap-gateway}"
BINARY="$CACHE/jaeger-$JAEGER_VERSION"
export PATH="$PATH:/usr/local/go/bin"

if [ ! -x "$BINARY" ]; then
  command -v go >/dev/null || {
    echo "jaeger.sh: Go is needed to build Jaeger $JAEGER_VERSION (looked on PATH and in /usr/local/go/bin)" >&2
    exit 1
  }
  module="$CACHE/jaeger-build-$JAEGER_VERSION"
  mkdir -p "$module"
  echo "jaeger.sh: building Jaeger $JAEGER_VERSION into $BINARY (a few minutes)" >&2
  (
    cd "$module"
    [ -f go.mod ] || go mod init jaegerbuild >/dev/null 2>&1
    go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION" >/dev/null 2>&1
    go build -o "$BINARY.partial" github.com/jaegertracing/jaeger/cmd/jaeger
  )
  mv "$BINARY.partial" "$BINARY"
fi
echo "$BINARY"
