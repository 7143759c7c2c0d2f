# The gateway's image (DESIGN §9). Base images are build arguments: the official Node 24 images by
# default; air-gapped builders and machines without a registry bring their own, e.g.
#   docker build --build-arg NODE_IMAGE=tsg-local/node:24-bookworm \
#     --build-arg RUNTIME_IMAGE=tsg-local/node:24-bookworm-runtime -t token-swap-gateway .
# (scripts/container/make-base-images.sh makes those). NODE_IMAGE needs npm; RUNTIME_IMAGE needs
# only node on PATH (e.g. a distroless Node 24 image). Classic builder compatible (no BuildKit).
ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=node:24-bookworm-slim

# --- build: all dependencies, tsc -> dist/ -------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: compiling needs no install script (only dev dependencies have any).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build

# --- production dependencies only (own stage: a source change does not reinstall them) ----------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- V8 compile cache, warmed in the runtime image itself (same node, flags, user and paths) -----
FROM ${RUNTIME_IMAGE} AS compile-cache
# Distroless Node images keep node in /nodejs/bin, off PATH; elsewhere this adds nothing.
ENV PATH=${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}:/nodejs/bin
ENV NODE_ENV=production NODE_COMPILE_CACHE=/tmp/compile-cache
WORKDIR /app
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY scripts/container/warm-compile-cache.mjs /opt/warm-compile-cache.mjs
USER 1000:1000
RUN ["node", "--max-old-space-size-percentage=75", "--max-semi-space-size=8", "/opt/warm-compile-cache.mjs", "/app/dist/main.js"]

# --- runtime --------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
ENV PATH=${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}:/nodejs/bin
# Compile cache: src/main.ts enables V8's code cache; by default it lives under /tmp, which is an
# empty tmpfs at every container start, so every start would compile from scratch. Instead the
# cache is baked in at build time and read from the image; Node uses a read-only cache directory
# (it just cannot add to it). Measured in a 256 MiB container: process start to "gateway
# listening" about 470 ms with the baked cache against 550-620 ms without, for 6.5 MB of image.
# Another user id than 1000 or other V8 flags only miss the cache (Node keys it by version, flags
# and uid) and start as without it. Owned by root: the process cannot rewrite its own code cache.
ENV NODE_ENV=production NODE_COMPILE_CACHE=/app/compile-cache
WORKDIR /app
# Owned by root and not writable by the process; the root filesystem may be read-only as well
# (nothing is written outside /tmp).
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --chown=0:0 --from=compile-cache /tmp/compile-cache ./compile-cache
# Numeric, so that Kubernetes' runAsNonRoot can verify it, and it works on images without a
# `node` user (the official images' `node` is 1000:1000 too).
USER 1000:1000
EXPOSE 8080 9464
# Docker's own health check (Kubernetes ignores it and uses its probes): exec form, no shell;
# the ops port and address are read from the environment by the JavaScript itself.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const e=process.env,h=e.OPS_HOST||e.HOST||'127.0.0.1',a=h==='0.0.0.0'||h==='::'?'127.0.0.1':h.includes(':')?`[${h}]`:h;fetch(`http://${a}:${e.OPS_PORT||9464}/livez`,{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and gets SIGTERM itself (npm start would swallow it); the gateway exits on its own
# after a graceful shutdown. The old space follows the container's memory limit (cgroup), so a
# 256 MiB container is not OOM-killed under load. The young generation is fixed at 8 MiB
# semi-spaces: V8 otherwise derives tiny ones from a small heap and scavenges so often that, in
# 256 MiB, a refresh at peak cost 428 µs of CPU instead of 299 µs, and 527 instead of 493 µs with
# 500 slow requests in flight (npm run bench:container, 2026-11-29; peak memory 166 MiB). npm run
# bench uses the same two settings. The compile-cache stage above must use the same flags.

ENTRYPOINT ["node", "--max-old-space-size-percentage=75", "--max-semi-space-size=8", "dist/main.js"]
