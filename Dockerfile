# syntax=docker/dockerfile:1
# The rotator image: one static binary on distroless, running as nonroot (65532).
#   docker build -t ghcr.io/rotatorhq/rotator:dev .
# Without Docker, `make image-push IMAGE=...` builds the same binary onto an empty base with this
# file's USER, ENTRYPOINT, CMD and EXPOSE (hack/image; its tests hold the two equal).
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 . (the Go build cross-compiles
# on the build machine's platform, so no emulation is needed).

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
WORKDIR /src
# Modules first: this layer is reused as long as go.mod and go.sum do not change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd/ cmd/
COPY internal/ internal/
COPY providers/ providers/
# Static (no cgo, so no libc needed at run time), reproducible paths, no symbol tables.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/rotator ./cmd/rotator

# static:nonroot has CA certificates, /etc/passwd with user nonroot (65532), tzdata (cron specs
# with CRON_TZ) and nothing else: no shell, no package manager.
FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/rotator /rotator
USER 65532:65532
# /metrics, /healthz, /readyz
EXPOSE 8080
ENTRYPOINT ["/rotator"]
CMD ["run", "--config", "/etc/rotator/config.yaml"]
