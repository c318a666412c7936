# The peer image: `modelmesh` (the peer) and `meshctl` (the CLI), built in release mode with
# the Swift standard library linked statically, on a plain Ubuntu base with OpenBLAS.
#
#   docker build -t swift-model-mesh:0.1.0 .
#
# The runtime stage must use the same distribution as the build image (glibc, OpenBLAS).
ARG SWIFT_VERSION=6.3
ARG UBUNTU=noble

FROM swift:${SWIFT_VERSION}-${UBUNTU} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libopenblas-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that a source change does not fetch them again.
COPY Package.* ./
RUN swift package resolve
COPY Sources ./Sources
# The manifest names the test targets, and SwiftPM checks that their directories exist.
COPY Tests ./Tests
# Stripping the DWARF data cuts the binaries by a third; their symbols stay, for crash backtraces.
RUN swift build -c release --static-swift-stdlib --product modelmesh \
    && swift build -c release --static-swift-stdlib --product meshctl \
    && mkdir /staging \
    && cp "$(swift build -c release --show-bin-path)/modelmesh" "$(swift build -c release --show-bin-path)/meshctl" /staging/ \
    && strip --strip-debug /staging/modelmesh /staging/meshctl

FROM ubuntu:${UBUNTU}
RUN apt-get update \
    && apt-get install -y --no-install-recommends libopenblas0 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 65532 modelmesh \
    && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin modelmesh
COPY --from=build /staging/ /usr/local/bin/
# Readable crash reports in the container log.
COPY --from=build /usr/libexec/swift/linux/swift-backtrace-static /usr/libexec/swift/swift-backtrace-static
ENV SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/libexec/swift/swift-backtrace-static
# Small example models under the models root, for a first test of a fresh cluster; a volume
# mounted at /models replaces them (docs/kubernetes.md).
COPY examples/models /models/examples
USER 65532:65532
EXPOSE 8008 8033
ENTRYPOINT ["modelmesh"]
