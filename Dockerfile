# personabot in a container: a Rust builder stage, then a small Debian runtime with only the
# binary and CA certificates, run as an unprivileged user, the SQLite file on a volume.
#
#   docker build -t personabot .
#   docker run -d --env-file .env -v personabot-data:/data -p 127.0.0.1:9464:9464 personabot
#
# With PostgreSQL (and optionally Ollama): docker compose up -d (see docker-compose.yml).

FROM rust:1.94-slim-bookworm AS build
# jemalloc (the bot's allocator) is built from C sources with make.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Cache mounts keep the registry and the target directory between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin personabot \
 && cp target/release/personabot /usr/local/bin/personabot

FROM debian:bookworm-slim
# TLS to Discord and the model server verifies against the system's CA certificates; they
# should follow the distribution's updates, so their version is not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin personabot \
 && mkdir -p /data \
 && chown personabot:personabot /data
COPY --from=build /usr/local/bin/personabot /usr/local/bin/personabot
USER 10001:10001
# The working directory is the data volume: an optional settings.yaml or .env there is read.
WORKDIR /data
ENV PERSONABOT__DATABASE__URL="sqlite:///data/personabot.sqlite?mode=rwc" \
    PERSONABOT__OPS__LISTEN="0.0.0.0:9464" \
    PERSONABOT__TELEMETRY__JSON="true"
VOLUME ["/data"]
EXPOSE 9464
# `personabot healthcheck` asks the ops server's /healthz (no curl needed in the image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["personabot", "healthcheck"]
# SIGTERM (docker stop) shuts down gracefully; give it time with `docker stop -t 60`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["personabot"]
CMD ["run"]
