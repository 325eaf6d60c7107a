# syntax=docker/dockerfile:1
FROM rust:1-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends pkg-config libssl-dev && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked --bin better-auth-rs && mkdir -p /data

# The runtime contract below (user 65532, HOST=0.0.0.0, production, JSON logs, /data, the
# healthcheck subcommand, SIGTERM) is exercised by tests/api/container.rs against the binary
# itself, and deploy/kubernetes/ relies on it (docs/operations.md §1).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/better-auth-rs /usr/local/bin/better-auth-rs
COPY --from=build --chown=65532:65532 /data /data
ENV HOST=0.0.0.0 PORT=3001 LOG_FORMAT=json BETTER_AUTH_ENV=production \
    DATABASE_URL=sqlite:///data/better-auth.db?mode=rwc
WORKDIR /data
VOLUME ["/data"]
# 3001: the API. 9464: GET /metrics when [metrics] enabled with port = 9464.
EXPOSE 3001 9464
STOPSIGNAL SIGTERM
USER nonroot
HEALTHCHECK --interval=15s --timeout=4s --retries=3 CMD ["/usr/local/bin/better-auth-rs", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/better-auth-rs"]
CMD ["serve"]
