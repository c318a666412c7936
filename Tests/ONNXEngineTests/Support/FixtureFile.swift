import Foundation
import Testing
@testable import ONNXEngine

/// A model and onnxruntime's outputs for it, as written by tools/make-onnx-fixtures.
struct FixtureFile {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Fixture names (without extension), sorted.
    static var names: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    struct Expected {
        let tensor: ONNXTensor
        let zipMapLabels: ZipMapLabels?
    }

    let modelURL: URL
    let tolerance: Double
    let inputs: [String: ONNXTensor]
    let outputs: [String: Expected]

    init(_ name: String) throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent("\(name).json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        modelURL = Self.directory.appendingPathComponent(try #require(json["model"] as? String))
        tolerance = (json["tolerance"] as? Double) ?? 1e-4
        let inputs = try #require(json["inputs"] as? [String: [String: Any]])
        let outputs = try #require(json["outputs"] as? [String: [String: Any]])
        self.inputs = try inputs.mapValues(Self.tensor)
        self.outputs = try outputs.mapValues { entry in
            let labels: ZipMapLabels?
            if let strings = entry["zipmap_labels"] as? [String] {
                labels = .strings(strings)
            } else if let ints = entry["zipmap_labels"] as? [NSNumber] {
                labels = .ints(ints.map(\.int64Value))
            } else {
                labels = nil
            }
            return Expected(tensor: try Self.tensor(entry), zipMapLabels: labels)
        }
    }

    static func tensor(_ entry: [String: Any]) throws -> ONNXTensor {
        let type = try #require(entry["type"] as? String)
        let shape = try #require(entry["shape"] as? [Int])
        let data = try #require(entry["data"] as? [Any])
        func number(_ value: Any) throws -> Double {
            if let n = value as? NSNumber { return n.doubleValue }
            switch value as? String {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default: throw FixtureError.badValue("\(value)")
            }
        }
        switch type {
        case "float": return try ONNXTensor(shape: shape, floats: data.map { Float(try number($0)) })
        case "double": return try ONNXTensor(shape: shape, doubles: data.map(number))
        case "int64": return try ONNXTensor(shape: shape, int64s: data.map { Int64(try number($0)) })
        case "int32": return try ONNXTensor(shape: shape, int32s: data.map { Int32(try number($0)) })
        case "bool": return try ONNXTensor(shape: shape, bools: data.map { ($0 as? Bool) ?? false })
        case "string": return try ONNXTensor(shape: shape, strings: data.map { "\($0)" })
        default: throw FixtureError.badValue(type)
        }
    }
}

enum FixtureError: Error {
    case badValue(String)
}

/// Compares tensors: exact for integers, strings and bools; for floats within
/// `tolerance * max(1, |expected|)`, with NaN equal to NaN.
func mismatch(_ actual: ONNXTensor, _ expected: ONNXTensor, tolerance: Double) -> String? {
    guard actual.shape == expected.shape else {
        return "shape \(actual.shape), expected \(expected.shape)"
    }
    func close(_ a: [Double], _ e: [Double]) -> String? {
        for (i, (x, y)) in zip(a, e).enumerated() {
            if x.isNaN && y.isNaN { continue }
            if x == y { continue }
            if abs(x - y) > tolerance * max(1, abs(y)) || x.isNaN != y.isNaN {
                return "element \(i): \(x), expected \(y)"
            }
        }
        return nil
    }
    switch (actual.storage, expected.storage) {
    case (.float(let a), .float(let e)): return close(a.map(Double.init), e.map(Double.init))
    case (.double(let a), .double(let e)): return close(a, e)
    case (.int64(let a), .int64(let e)): return a == e ? nil : "\(a), expected \(e)"
    case (.int32(let a), .int32(let e)): return a == e ? nil : "\(a), expected \(e)"
    case (.bool(let a), .bool(let e)): return a == e ? nil : "\(a), expected \(e)"
    case (.string(let a), .string(let e)): return a == e ? nil : "\(a), expected \(e)"
    default: return "type \(actual.elementType), expected \(expected.elementType)"
    }
}
