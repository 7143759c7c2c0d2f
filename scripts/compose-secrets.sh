#!/bin/sh
# Writes the DEMO secret files docker-compose.yml mounts (its top-level `secrets:`), in
# ${SECRETS_DIR:-./secrets} (gitignored):
#   client_secret           the fake accounts service's demo client secret (not a secret)
#   token_encryption_keys   one fresh TOKEN_ENCRYPTION_KEYS entry, kid:base64url(32 bytes), made by
#                           src/sealing/keygen.ts (Node >= 22.18 here, else the built image)
#   redis_password          a random password: the redis service's requirepass, the gateway's REDIS_PASSWORD
# Never overwrites an existing file (a new key would make every sealed token unreadable; a new
# password would lock the gateway out of its Redis): delete a file yourself to renew it.
#
# Modes: the directory 0700 (other users of this machine cannot reach the files), each file 0644.
# Compose without Swarm bind-mounts the file itself and ignores a secret's uid/gid/mode, so
# inside the containers the file's own mode decides: the gateway (uid 1000) and Redis (uid 999)
# are not the file's owner on the host and read it as "other". The directory's mode does not
# apply inside the containers (the bind mount does not go through it).
#
# For a real deployment write your own files (your app's client secret, your key list, your
# password) with the same names, or point SECRETS_DIR at them.
set -eu

cd "$(dirname "$0")/.."
dir=${SECRETS_DIR:-./secrets}
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

write() { # name, then the command that prints the content
  name=$1
  shift
  if [ -e "$dir/$name" ]; then
    echo "compose-secrets: $dir/$name exists, kept"
    return 0
  fi
  content=$("$@")
  if [ -z "$content" ]; then
    echo "compose-secrets: could not make $name" >&2
    exit 1
  fi
  # umask 077: the file is never readable by others before its chmod.
  printf '%s\n' "$content" >"$dir/$name.tmp"
  chmod 644 "$dir/$name.tmp"
  mv "$dir/$name.tmp" "$dir/$name"
  echo "compose-secrets: wrote $dir/$name"
}

demo_client_secret() { printf '%s' 'demo-client-secret-not-a-secret'; }

# The one owner of the key format is src/sealing/keygen.ts: Node 24 runs it as is; without a
# recent Node, the image built by `docker compose build gateway` runs its compiled copy.
encryption_key() {
  if node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 18) ? 0 : 1)' 2>/dev/null; then
    node src/sealing/keygen.ts
  elif docker image inspect token-swap-gateway:local >/dev/null 2>&1; then
    docker run --rm --network none --entrypoint node token-swap-gateway:local dist/sealing/keygen.js
  else
    echo "compose-secrets: needs Node >= 22.18, or the image: docker compose build gateway" >&2
  fi
}

# 32 random bytes, base64url: no character that needs quoting in a shell, a URL or redis.conf.
redis_password() { head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }

write client_secret demo_client_secret
write token_encryption_keys encryption_key
write redis_password redis_password
