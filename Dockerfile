# kompetanse: a multi-stage build. The runtime image holds the one static-ish
# binary (rustls, bundled SQLite) on distroless, running as a non-root user.
#
#   docker build -t kompetanse .
#   docker run -p 8080:8080 kompetanse                 # SQLite in /data, demo data
#   docker compose up                                  # with PostgreSQL (compose.yaml)

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so that a change to the code does not rebuild them.
COPY Cargo.toml Cargo.lock ./
COPY entity/Cargo.toml entity/Cargo.toml
COPY migration/Cargo.toml migration/Cargo.toml
RUN mkdir -p src entity/src migration/src \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs entity/src/lib.rs migration/src/lib.rs \
    && cargo build --release --locked --bin kompetanse || true
COPY . .
RUN touch src/main.rs src/lib.rs entity/src/lib.rs migration/src/lib.rs \
    && cargo build --release --locked --bin kompetanse \
    && mkdir -p /data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/kompetanse /usr/local/bin/kompetanse
COPY --from=build --chown=nonroot:nonroot /data /data
ENV KOMPETANSE_BIND=0.0.0.0:8080 \
    KOMPETANSE_DATABASE_URL=sqlite:///data/kompetanse.db?mode=rwc \
    KOMPETANSE_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/data"]
USER nonroot
ENTRYPOINT ["/usr/local/bin/kompetanse"]
CMD ["serve"]
