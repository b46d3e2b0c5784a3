# The driftless image, for your own builds: `docker build -t driftless .`
# Stage 1 builds a release binary; stage 2 is distroless (no shell, no package manager),
# running as the unprivileged user 65532 that deploy/ expects.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# zlib is the one library the binary needs that the runtime image lacks: copied along.
RUN cargo build --release --locked --bin driftless \
 && mkdir -p /out/lib \
 && cp target/release/driftless /out/driftless \
 && strip /out/driftless \
 && cp "$(ldd /out/driftless | awk '/libz\.so/ {print $3}')" /out/lib/

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/lib/ /usr/lib/
COPY --from=build /out/driftless /usr/local/bin/driftless
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/driftless"]
CMD ["agent", "--config", "/etc/driftless/config.yaml"]
