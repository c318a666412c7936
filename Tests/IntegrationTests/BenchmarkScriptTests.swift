import Foundation
import MeshTestSupport
import Testing

extension Integration {
    /// The scripts that put each tool's report into BENCHMARKS.md.
    @Suite struct BenchmarkScripts {
        static let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tools")

        @Test func aSectionIsReplacedInPlaceAndTheRestKept() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-section-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let document = directory.appendingPathComponent("BENCHMARKS.md")
            let content = directory.appendingPathComponent("section.md")
            try "# Benchmarks\n\nhand-written\n".write(to: document, atomically: true, encoding: .utf8)
            let script = Self.tools.appendingPathComponent("benchmark_section.py").path

            try "# First run\n\n| a |\n".write(to: content, atomically: true, encoding: .utf8)
            _ = try runCommand("python3", [script, "demo", content.path, document.path])
            try "# Second run\n".write(to: content, atomically: true, encoding: .utf8)
            _ = try runCommand("python3", [script, "demo", content.path, document.path])
            try "other\n".write(to: content, atomically: true, encoding: .utf8)
            _ = try runCommand("python3", [script, "other", content.path, document.path])

            let text = try String(contentsOf: document, encoding: .utf8)
            #expect(text.hasPrefix("# Benchmarks\n\nhand-written\n"))
            #expect(text.contains("## Second run"))
            #expect(!text.contains("First run"))
            #expect(text.components(separatedBy: "<!-- BEGIN demo:").count == 2)
            #expect(text.hasSuffix("other\n<!-- END other -->\n"))
        }

        @Test func microBenchmarkOutputBecomesATable() throws {
            let sample = """
                Host 'vm' with 2 'x86_64' processors with 23 GB memory, running:
                MeshBenchmarks
                ==============

                RoutePlanner.decide local hit (50 peers, 10k copies)
                │ Metric                    │        p0 │       p25 │       p50 │       p75 │       p90 │       p99 │      p100 │   Samples │
                │ Malloc (total) *          │         4 │         4 │         4 │         4 │         4 │         4 │         4 │      2205 │
                │ Time (wall clock) (ns) *  │       843 │       850 │       859 │       877 │       894 │       953 │      1286 │      2205 │

                """
            let input = FileManager.default.temporaryDirectory.appendingPathComponent("micro-\(UUID().uuidString).txt")
            try sample.write(to: input, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: input) }
            let table = try runCommand("bash", ["-c", "python3 \(Self.tools.path)/micro_benchmarks_table.py < \(input.path)"])
            #expect(table.contains("| RoutePlanner.decide local hit (50 peers, 10k copies) | 859 ns | 953 ns | 4 |"), "\(table)")
            #expect(table.contains("('vm' with 2 'x86_64' processors with 23 GB memory)"))
        }
    }
}
