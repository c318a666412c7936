// swift-tools-version:6.2
import PackageDescription

// libFuzzer executables for the targets in Sources/FuzzTargets of the package above. Built with
// `-Xswiftc -sanitize=fuzzer,address` by tools/fuzz, never by CI: CI replays Fuzz/Seeds and
// Fuzz/Regressions through the same targets in Tests/FuzzRegressionTests instead.

let targets = ["rest", "grpc", "gossip", "etcd", "onnx"]

let package = Package(
    name: "swift-model-mesh-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "swift-model-mesh", path: "..")],
    targets: [
        // Declares libFuzzer's driver entry point, which the executables call from their own main.
        .target(name: "CFuzzerDriver"),
        .target(
            name: "FuzzDriver",
            dependencies: ["CFuzzerDriver", .product(name: "FuzzTargets", package: "swift-model-mesh")]
        ),
    ] + targets.map { name in
        .executableTarget(
            name: "fuzz-\(name)",
            dependencies: ["FuzzDriver", .product(name: "FuzzTargets", package: "swift-model-mesh")],
            // gold stops with an internal error (dwarf_reader.cc) linking these; lld links them.
            linkerSettings: [.unsafeFlags(["-use-ld=lld"])]
        )
    },
    swiftLanguageModes: [.v6]
)
