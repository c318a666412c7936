import Foundation
import MeshTestSupport

/// wrk (Debian's) as a second, C load generator for the throughput figure: it costs less CPU per
/// request than mesh-loadgen, which shares the same two cores with the server.
enum Wrk {
    static func run(url: String, connections: Int, seconds: Int, directory: String) throws -> Double {
        let script = directory + "/wrk-infer.lua"
        let body = #"{\"inputs\": [{\"name\": \"INPUT0\", \"shape\": [4], \"datatype\": \"FP32\", \"data\": [0, 0.25, 0.5, 0.75]}]}"#
        let lua = """
        wrk.method = "POST"
        wrk.body = "\(body)"
        wrk.headers["Content-Type"] = "application/json"
        """
        try Data(lua.utf8).write(to: URL(fileURLWithPath: script))
        let output = try runCommand("wrk", ["-t", "1", "-c", String(connections), "-d", "\(max(1, seconds))s", "-s", script, url])
        return try parse(output)
    }

    /// The `Requests/sec:` figure; non-2xx answers make the run invalid.
    static func parse(_ output: String) throws -> Double {
        if let line = output.split(separator: "\n").first(where: { $0.contains("Non-2xx or 3xx responses") }) {
            throw TestSupportError("wrk saw failures: \(line)")
        }
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("Requests/sec:") }),
              let value = Double(line.split(separator: " ").last ?? "") else {
            throw TestSupportError("no Requests/sec in wrk's output:\n\(output)")
        }
        return value
    }
}
