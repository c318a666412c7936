import Foundation
import Testing
@testable import ONNXEngine

/// Runs the ONNX project's node tests (Debian's libonnx-testdata) for every test whose
/// operators are all in the supported set. Each selected test must either pass or be refused
/// at load with an `unsupportedFeature` error; a wrong answer or a crash fails the suite.
@Suite struct NodeTests {
    static let dataDirectory = URL(
        fileURLWithPath: ProcessInfo.processInfo.environment["ONNX_NODE_TEST_DATA"]
            ?? "/usr/share/libonnx-testdata/data/node")

    /// ONNX's backend test tolerances.
    static let relativeTolerance = 1e-3
    static let absoluteTolerance = 1e-7

    enum Outcome {
        case passed
        case refused(String)
        case failed(String)
    }

    @Test func supportedNodeTestsPass() throws {
        let directories = try? FileManager.default.contentsOfDirectory(atPath: Self.dataDirectory.path)
        let names = try #require(
            directories?.sorted(),
            "ONNX node tests not found at \(Self.dataDirectory.path): install Debian's libonnx-testdata")
        var selected = 0
        var passed: [String] = []
        var refused: [(String, String)] = []
        var failed: [(String, String)] = []
        for name in names {
            let directory = Self.dataDirectory.appendingPathComponent(name)
            guard let bytes = try? Data(contentsOf: directory.appendingPathComponent("model.onnx")),
                let proto = try? Onnx_ModelProto(serializedBytes: bytes)
            else { continue }
            let allSupported = proto.graph.node.allSatisfy {
                OperatorRegistry.isSupported(domain: $0.domain, opType: $0.opType)
            }
            guard allSupported, !proto.graph.node.isEmpty else { continue }
            selected += 1
            switch Self.run(directory) {
            case .passed: passed.append(name)
            case .refused(let why): refused.append((name, why))
            case .failed(let why): failed.append((name, why))
            }
        }
        print("ONNX node tests: \(selected) selected, \(passed.count) passed, \(refused.count) refused, \(failed.count) failed")
        for (name, why) in refused { print("  refused \(name): \(why)") }
        for (name, why) in failed { print("  FAILED \(name): \(why)") }
        #expect(failed.isEmpty, "\(failed.map { "\($0.0): \($0.1)" }.joined(separator: "\n"))")
        #expect(passed.count >= 100, "only \(passed.count) node tests passed")
    }

    static func run(_ directory: URL) -> Outcome {
        let model: ONNXModel
        do {
            model = try ONNXModel(contentsOf: directory.appendingPathComponent("model.onnx"))
        } catch .unsupportedFeature(let node, let detail) {
            return .refused("\(node): \(detail)")
        } catch .unsupportedOperators(let ops) {
            return .refused("operators \(ops)")
        } catch {
            return .failed("load: \(error)")
        }
        let sets = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasPrefix("test_data_set_") }.sorted()
        guard !sets.isEmpty else { return .failed("no test data sets") }
        for set in sets {
            let setDirectory = directory.appendingPathComponent(set)
            do {
                let inputs = try tensors(in: setDirectory, prefix: "input_")
                let expected = try tensors(in: setDirectory, prefix: "output_")
                var feed: [String: ONNXTensor] = [:]
                for (i, (name, tensor)) in inputs.enumerated() {
                    let declared = i < model.inputs.count ? model.inputs[i].name : name
                    feed[name.isEmpty ? declared : name] = tensor
                }
                let outputs = try model.run(feed)
                for (i, (name, tensor)) in expected.enumerated() {
                    let key = name.isEmpty ? model.outputs[i].name : name
                    guard let actual = outputs[key] else { return .failed("\(set): no output \(key)") }
                    if let problem = compare(actual, tensor) { return .failed("\(set) \(key): \(problem)") }
                }
            } catch {
                return .failed("\(set): \(error)")
            }
        }
        return .passed
    }

    /// `prefix_0.pb`, `prefix_1.pb`, ... in order, with the names stored in them.
    static func tensors(in directory: URL, prefix: String) throws -> [(String, ONNXTensor)] {
        var result: [(String, ONNXTensor)] = []
        var index = 0
        while let data = try? Data(contentsOf: directory.appendingPathComponent("\(prefix)\(index).pb")) {
            let proto = try Onnx_TensorProto(serializedBytes: data)
            result.append((proto.name, try TensorDecoding.decode(proto, externalData: nil)))
            index += 1
        }
        return result
    }

    static func compare(_ actual: ONNXTensor, _ expected: ONNXTensor) -> String? {
        guard actual.shape == expected.shape else { return "shape \(actual.shape), expected \(expected.shape)" }
        func close(_ a: [Double], _ e: [Double]) -> String? {
            for (i, (x, y)) in zip(a, e).enumerated() {
                if x.isNaN && y.isNaN { continue }
                if x == y { continue }
                if !(abs(x - y) <= absoluteTolerance + relativeTolerance * abs(y)) {
                    return "element \(i): \(x), expected \(y)"
                }
            }
            return nil
        }
        switch (actual.storage, expected.storage) {
        case (.float(let a), .float(let e)): return close(a.map(Double.init), e.map(Double.init))
        case (.double(let a), .double(let e)): return close(a, e)
        default:
            return actual.storage == expected.storage ? nil : "values differ (\(actual.elementType) vs \(expected.elementType))"
        }
    }
}
