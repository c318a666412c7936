// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "swift-model-mesh",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MeshCore", targets: ["MeshCore"]),
        .library(name: "EtcdGateway", targets: ["EtcdGateway"]),
        .library(name: "OpenInference", targets: ["OpenInference"]),
        .library(name: "OpenInferenceGRPC", targets: ["OpenInferenceGRPC"]),
        .library(name: "MeshGossip", targets: ["MeshGossip"]),
        .library(name: "ModelStorage", targets: ["ModelStorage"]),
        .library(name: "ONNXEngine", targets: ["ONNXEngine"]),
        // The decoders a peer runs on bytes from outside, as functions of bytes (Fuzz/ builds them into libFuzzer targets).
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
        .executable(name: "modelmesh", targets: ["modelmesh"]),
        .executable(name: "meshctl", targets: ["meshctl"]),
        .executable(name: "mesh-simulate", targets: ["mesh-simulate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // Traces exported over OTLP/HTTP only: the gRPC exporter is left out.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
    ],
    targets: [
        // Pure decision logic: no I/O, no Foundation, no NIO.
        .target(name: "MeshCore"),
        .target(
            name: "EtcdGateway",
            dependencies: [
                "KeepAliveHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Open Inference Protocol v2: types and the REST (JSON + binary extension) codec.
        .target(name: "OpenInference", dependencies: ["MeshCore"]),
        // Open Inference Protocol over gRPC: generated messages and service (tools/generate-protos),
        // and their conversion to and from the OpenInference types.
        .target(
            name: "OpenInferenceGRPC",
            dependencies: [
                "OpenInference",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ]
        ),
        // ModelMesh's management API (mmesh.ModelMesh), generated (tools/generate-protos).
        .target(
            name: "MeshManagementGRPC",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ]
        ),
        // The load-report messages peers gossip, and how a peer reads another's.
        .target(name: "MeshGossip", dependencies: ["MeshCore"]),
        // The ModelRuntime SPI and the built-in runtimes.
        .target(
            name: "ModelRuntimes",
            dependencies: [
                "MeshCore", "OpenInference", "ONNXEngine", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The shell: registration, mirror, local models, routing, forwarding, HTTP and gRPC servers.
        .target(
            name: "MeshPeer",
            dependencies: [
                "MeshCore", "MeshGossip", "EtcdGateway", "OpenInference", "ModelRuntimes", "ModelStorage", "OpenInferenceGRPC", "MeshManagementGRPC",
                "KeepAliveHTTP",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCertificateReloading", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // HTTP/1.1 over keep-alive NIO channels: the peers' hops and the runtime servers' relays.
        .target(
            name: "KeepAliveHTTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Runtime servers beside the peer: Open Inference servers driven through their repository
        // extension (MLServer, Triton) and ModelMesh runtimes (`mmesh.ModelRuntime`).
        .target(
            name: "RemoteRuntimes",
            dependencies: [
                "MeshCore", "ModelRuntimes", "OpenInference", "OpenInferenceGRPC", "MeshManagementGRPC", "KeepAliveHTTP",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(
            name: "KeepAliveHTTPTests",
            dependencies: [
                "KeepAliveHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "RemoteRuntimesTests", dependencies: ["RemoteRuntimes", "MeshCore", "ModelRuntimes", "OpenInferenceGRPC"]),
        .executableTarget(
            name: "modelmesh",
            dependencies: [
                "MeshPeer", "ModelRuntimes", "RemoteRuntimes", "OpenInference",
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Manifests (KServe InferenceService and Predictor, the mesh's Model and VModel) read from
        // YAML and compared with the mesh: what `meshctl apply`, `diff` and `get` do, as pure functions.
        .target(
            name: "MeshManifests",
            dependencies: ["MeshCore", "OpenInference", .product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "meshctl",
            dependencies: [
                "MeshCore", "OpenInference", "MeshManifests",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Starts real etcd (and later peer and S3) processes on loopback for tests.
        // Turns a model's storage location into a local file or directory: S3, HTTP, mounted volumes.
        .target(
            name: "ModelStorage",
            dependencies: [
                "MeshCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Downloads one model through ModelStorage and reports throughput; driven by tools/bench-storage.
        .executableTarget(
            name: "storage-bench",
            dependencies: [
                "ModelStorage",
                "MeshCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Starts real etcd, S3 (moto) and peer processes on loopback for tests.
        .target(
            name: "MeshTestSupport",
            dependencies: [
                "EtcdGateway",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                "OpenInference", "MeshCore",
            ]
        ),
        // Kills peers and etcd members under load and reports what clients saw (tools/chaos).
        .executableTarget(
            name: "mesh-chaos",
            dependencies: ["MeshTestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // OpenBLAS's C interface, linked as a system library (Debian: libopenblas-dev).
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // The in-process ONNX runtime: parses, checks and executes ONNX graphs. Knows nothing
        // of the mesh; the ModelRuntimes adapter wraps it.
        .target(
            name: "ONNXEngine",
            dependencies: [
                "CBLAS",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Generated/README.md"]
        ),
        // Times ONNXEngine on a model for tools/bench-onnx.
        .executableTarget(name: "onnx-bench", dependencies: ["ONNXEngine"]),
        // Drives MeshCore's placement, routing, scaling and LRU with a simulated clock, peers and
        // workload, next to an independent-LRU and an offline-optimal baseline (tools/simulate).
        .target(name: "MeshSimulation", dependencies: ["MeshCore"]),
        .executableTarget(
            name: "mesh-simulate",
            dependencies: ["MeshSimulation", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // One function per fuzz target: each decoder a peer runs on untrusted bytes, called as the peer calls it.
        .target(
            name: "FuzzTargets",
            dependencies: ["MeshCore", "MeshGossip", "OpenInference", "OpenInferenceGRPC", "EtcdGateway", "ONNXEngine"]
        ),
        .testTarget(name: "MeshCoreTests", dependencies: ["MeshCore"]),
        .testTarget(name: "MeshManifestsTests", dependencies: ["MeshManifests", "MeshCore", "OpenInference"]),
        .testTarget(name: "MeshSimulationTests", dependencies: ["MeshSimulation", "MeshCore"]),
        // Open- and closed-loop REST and gRPC load against peers, latencies in an HdrHistogram.
        .target(
            name: "LoadGenerator",
            dependencies: [
                "OpenInference", "OpenInferenceGRPC",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "mesh-loadgen",
            dependencies: ["LoadGenerator", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The side-by-side benchmarks of tools/bench and tools/bench-scale: what they start, measure and write.
        .target(
            name: "MeshBench",
            dependencies: [
                "LoadGenerator", "MeshTestSupport", "EtcdGateway", "MeshCore", "OpenInference", "OpenInferenceGRPC", "ModelRuntimes",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "mesh-bench",
            dependencies: ["MeshBench", "LoadGenerator", "OpenInferenceGRPC", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "BenchToolsTests", dependencies: ["LoadGenerator", "MeshBench", "OpenInference", "OpenInferenceGRPC"]),
        .testTarget(name: "EtcdGatewayTests", dependencies: ["EtcdGateway", "MeshTestSupport", .product(name: "NIOSSL", package: "swift-nio-ssl")]),
        .testTarget(name: "OpenInferenceTests", dependencies: ["OpenInference", "MeshCore"]),
        .testTarget(name: "OpenInferenceGRPCTests", dependencies: ["OpenInferenceGRPC", "OpenInference", "MeshCore"]),
        .testTarget(
            name: "ModelRuntimesTests",
            dependencies: [
                "ModelRuntimes", "OpenInference", "MeshCore", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "MeshPeerTests", dependencies: ["MeshPeer", "MeshCore", "OpenInference", "MeshTestSupport", "EtcdGateway", "OpenInferenceGRPC"]),
        // Multi-process tests: real etcd, real peer processes, real sockets.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "MeshTestSupport", "EtcdGateway", "MeshCore", "OpenInference", "ModelRuntimes", "ModelStorage", "LoadGenerator", "MeshBench",
                "OpenInferenceGRPC", "MeshManagementGRPC", "RemoteRuntimes",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ],
            exclude: ["Scripts"]
        ),
        .testTarget(name: "ONNXEngineTests", dependencies: ["ONNXEngine"], exclude: ["Fixtures"]),
        // Replays Fuzz/Seeds and Fuzz/Regressions through the fuzz targets in the normal build.
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets"]),
        .testTarget(
            name: "ModelStorageTests",
            dependencies: [
                "ModelStorage",
                "MeshCore",
                "MeshTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
