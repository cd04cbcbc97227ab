# kv-gateway image.
#
#   docker build -t kv-gateway:local .                      # from source, in a Rust image
#   cargo build --release --locked &&
#   docker build --target prebuilt -t kv-gateway:local .    # packs target/release/kv-gateway
#
# Stage order matters: the legacy builder builds every stage before the
# target, so `prebuilt` comes before anything that needs the Rust image.

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUNTIME_IMAGE} AS runtime
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin kv
# Configured only by KV__... variables; inside a container it listens on all interfaces.
ENV KV__SERVER__BIND=0.0.0.0:8080
EXPOSE 8080
USER kv
HEALTHCHECK --interval=5s --timeout=4s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/kv-gateway", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/kv-gateway"]

FROM runtime AS prebuilt
COPY target/release/kv-gateway /usr/local/bin/kv-gateway

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin kv-gateway

FROM runtime
COPY --from=build /src/target/release/kv-gateway /usr/local/bin/kv-gateway
