// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "swift-model-mesh",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MeshCore", targets: ["MeshCore"]),
        .library(name: "EtcdGateway", targets: ["EtcdGateway"]),
        .library(name: "OpenInference", targets: ["OpenInference"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // Pure decision logic: no I/O, no Foundation, no NIO.
        .target(name: "MeshCore"),
        .target(
            name: "EtcdGateway",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Open Inference Protocol v2: types and the REST (JSON + binary extension) codec.
        .target(name: "OpenInference"),
        // Starts real etcd (and later peer and S3) processes on loopback for tests.
        .target(
            name: "MeshTestSupport",
            dependencies: [
                "EtcdGateway",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "MeshCoreTests", dependencies: ["MeshCore"]),
        .testTarget(name: "EtcdGatewayTests", dependencies: ["EtcdGateway", "MeshTestSupport"]),
        .testTarget(name: "OpenInferenceTests", dependencies: ["OpenInference"]),
    ],
    swiftLanguageModes: [.v6]
)
