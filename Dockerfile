# syntax=docker/dockerfile:1
# The function image: the host binary, the composition modules at /modules,
# and their compiled artifacts at /cache so the first start compiles nothing.
# Each RUN is a Makefile target that CI also runs.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# `make guest` adds the wasm32-wasip2 target and builds the modules.
RUN make guest
RUN make host-release
# Crossplane runs functions as uid 2000 and `docker run` as nonroot
# (65532): /cache stays writable for either (sticky, like /tmp), so modules
# pulled from registries and their compilations are kept across restarts.
RUN make warm-cache HOST=target/release/function-cluster-platform \
        MODULES=target/modules CACHE=/out/cache \
 && chmod 1777 /out/cache \
 && mkdir -p /out/modules && cp target/modules/*.wasm /out/modules/

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/function-cluster-platform /function
COPY --from=build /out/modules /modules
COPY --from=build --chown=65532:65532 /out/cache /cache
# Crossplane passes no arguments (TLS comes from TLS_SERVER_CERTS_DIR);
# `crossplane render` passes a bare --insecure. Mount a writable volume over
# /modules to upload or swap modules at run time.
ENV MODULES_DIR=/modules CACHE_DIR=/cache
# gRPC; /livez, /readyz and /modules for the kubelet.
EXPOSE 9443 8081
USER nonroot:nonroot
ENTRYPOINT ["/function"]
