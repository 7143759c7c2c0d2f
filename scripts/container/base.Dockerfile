# LOCAL base images for machines that cannot pull from a registry (made by make-base-images.sh;
# never used by the project's published builds, which take the official node images).
#
# Build context (prepared by make-base-images.sh): node (the official Linux binary, from the npm
# registry's node-linux-<arch> package), npm/ (the npm package, unpacked) and host-ca-bundle.crt
# (this machine's CA bundle, so that npm and Node trust whatever this machine's network needs).
#   --target runtime: Debian bookworm minbase + ca-certificates + node          (RUNTIME_IMAGE)
#   --target build:   the same + npm, with npm's cafile set                      (NODE_IMAGE)
ARG DEBIAN_IMAGE=tsg-local/debian:bookworm

FROM ${DEBIAN_IMAGE} AS runtime
ARG NODE_VERSION
LABEL org.opencontainers.image.title="tsg-local node ${NODE_VERSION} (bookworm, local, machine CA)"
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_VERSION=${NODE_VERSION} \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/tsg-host-ca-bundle.crt
COPY host-ca-bundle.crt /etc/ssl/certs/tsg-host-ca-bundle.crt
COPY node /usr/local/bin/node
RUN node --version
CMD ["node"]

FROM runtime AS build
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
    && mkdir -p /usr/local/etc \
    && printf '%s\n' 'cafile=/etc/ssl/certs/tsg-host-ca-bundle.crt' 'update-notifier=false' 'fund=false' \
       > /usr/local/etc/npmrc \
    && npm --version
