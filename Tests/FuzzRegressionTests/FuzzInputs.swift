import Foundation
import FuzzTargets
import Testing

/// The inputs kept under Fuzz/: seeds and the inputs fuzzers crashed on, per target.
struct FuzzInput: CustomTestStringConvertible, Sendable {
    let target: FuzzTarget
    /// "Seeds" or "Regressions".
    let kind: String
    let url: URL

    var testDescription: String { "\(target.rawValue)/\(kind)/\(url.lastPathComponent)" }

    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func all(_ kind: String) -> [FuzzInput] {
        FuzzTarget.allCases.flatMap { target in
            let directory = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map {
                FuzzInput(target: target, kind: kind, url: directory.appendingPathComponent($0))
            }
        }
    }

    func bytes() throws -> [UInt8] { Array(try Data(contentsOf: url)) }
}
