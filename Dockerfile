# syntax=docker/dockerfile:1
#
# opentrain-mcp as a container image: the statically linked (musl) binary, CA certificates and
# a home directory for the credentials file, FROM scratch (no shell, no package manager), running as a non-root
# user. For MCP over stdio:
#
#   docker run -i --rm -e OPENTRAIN_PERSONAL_API_TOKEN ghcr.io/opentrain-mcp/opentrain-mcp
#
# Two ways to build it:
#
#   docker build -t opentrain-mcp .
#       compiles the binary from source in a Rust (Alpine, musl) stage; any platform buildx has.
#   docker build --build-arg BINARY_SOURCE=prebuilt -t opentrain-mcp .
#       ships dist/container/linux-<arch>/opentrain-mcp and dist/container/ca-certificates.crt from
#       the build context, pulling no image at all. The release workflow builds the image this
#       way from the very binaries it attaches to the release (linux/amd64 and linux/arm64).

ARG BINARY_SOURCE=source

# --- the binary, compiled here -------------------------------------------------------------
FROM rust:1.89-alpine AS source
RUN apk add --no-cache musl-dev ca-certificates
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
RUN cargo build --release --locked --bin opentrain-mcp \
 && cp target/release/opentrain-mcp /out/opentrain-mcp \
 && cp /etc/ssl/certs/ca-certificates.crt /out/ca-certificates.crt

# --- or the binary, built elsewhere ----------------------------------------------------------
FROM scratch AS prebuilt
ARG TARGETARCH
COPY dist/container/linux-${TARGETARCH}/opentrain-mcp /out/opentrain-mcp
COPY dist/container/ca-certificates.crt /out/ca-certificates.crt

FROM ${BINARY_SOURCE} AS binary

# --- the image ------------------------------------------------------------------------------
FROM scratch
ARG VERSION=dev
COPY --from=binary /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=binary --chmod=755 /out/opentrain-mcp /usr/local/bin/opentrain-mcp
COPY --chown=65532:65532 packaging/container/home/ /home/
# scratch has no /tmp: temporary files (the demo's sandbox) go to the user's home.
ENV HOME=/home/opentrain \
    TMPDIR=/home/opentrain \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/opentrain
LABEL io.modelcontextprotocol.server.name="io.github.opentrain-mcp/opentrain-mcp" \
      org.opencontainers.image.title="opentrain-mcp" \
      org.opencontainers.image.description="MCP server for the OpenTrain data-labeling marketplace (stdio)" \
      org.opencontainers.image.source="https://github.com/opentrain-mcp/opentrain-mcp" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"
ENTRYPOINT ["/usr/local/bin/opentrain-mcp"]
