// swift-tools-version:6.1
// Micro benchmarks of the hot paths, with ordo-one/benchmark. A separate package (as in
// swift-nio) so the main package and CI never build the benchmark harness.
//
//   cd Benchmarks && swift package benchmark
import PackageDescription

let package = Package(
    name: "swift-model-mesh-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named explicitly: a path dependency is otherwise known by its folder's name.
        .package(name: "swift-model-mesh", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        .executableTarget(
            name: "MeshBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MeshCore", package: "swift-model-mesh"),
                .product(name: "OpenInference", package: "swift-model-mesh"),
                .product(name: "OpenInferenceGRPC", package: "swift-model-mesh"),
                .product(name: "MeshGossip", package: "swift-model-mesh"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Benchmarks/MeshBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
