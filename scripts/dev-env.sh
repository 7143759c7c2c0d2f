# Source this file (bash): `source scripts/dev-env.sh` puts Node.js 24 on PATH, installing it from
# the npm registry's `node` package when the machine's node is older. With `--test` it also makes
# sure what the test suite drives is there: redis-server (started and REDIS_URL set when none is
# answering), Prometheus' promtool/prometheus, docker-compose and chromium (Debian packages;
# installing needs root).
# It changes only this shell's PATH and REDIS_URL.

_tsg_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(_tsg_node_major)" -lt 24 ]; then
  _tsg_node_dir="${TSG_NODE_DIR:-$HOME/.cache/token-swap-gateway/node24}"
  if [ ! -x "$_tsg_node_dir/node_modules/.bin/node" ]; then
    echo "dev-env: installing Node.js 24 into $_tsg_node_dir" >&2
    npm install --prefix "$_tsg_node_dir" --no-save --no-audit --no-fund node@24 >/dev/null
  fi
  export PATH="$_tsg_node_dir/node_modules/.bin:$PATH"
fi

if [ "${1:-}" = "--test" ]; then
  _tsg_missing=()
  command -v redis-server >/dev/null || _tsg_missing+=(redis-server)
  command -v promtool >/dev/null || _tsg_missing+=(prometheus)
  # `docker-compose config` validates docker-compose.yml in the deployment tests (no engine needed).
  command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || _tsg_missing+=(docker-compose)
  # The browser test (test/client-flow.e2e-spec.ts) drives Debian's chromium at /usr/bin/chromium.
  [ -x /usr/bin/chromium ] || _tsg_missing+=(chromium)
  if [ ${#_tsg_missing[@]} -gt 0 ]; then
    echo "dev-env: installing ${_tsg_missing[*]} (Debian packages)" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${_tsg_missing[@]}" >/dev/null
  fi
  # The Debian package may start a Prometheus on :9090; the tests start their own.
  if command -v systemctl >/dev/null; then systemctl stop prometheus >/dev/null 2>&1 || true; fi
  # Without a Docker engine the tests use REDIS_URL; start a throwaway redis-server if none answers.
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
  if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
    echo "dev-env: starting redis-server on 127.0.0.1:6379" >&2
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 1 50); do redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  unset _tsg_missing
fi
echo "dev-env: node $(node --version)${REDIS_URL:+, REDIS_URL=$REDIS_URL}" >&2
unset -f _tsg_node_major
unset _tsg_node_dir
