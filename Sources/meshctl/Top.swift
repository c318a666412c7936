import ArgumentParser
import Foundation
import OpenInference

/// Live views: the mesh's peers and busiest models, refreshed in place.
struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show peers and the busiest models, refreshed in place (Ctrl-C to stop).")
    @OptionGroup var connection: Connection
    @Option(help: "Seconds between refreshes") var interval: Double = 2
    @Option(help: "Models to show") var models = 10
    @Option(help: "Stop after this many refreshes (for scripts; default: until interrupted)") var count: Int?

    func run() async throws {
        let api = connection.api
        var refreshes = 0
        while count.map({ refreshes < $0 }) ?? true {
            let (_, peers, _) = try await api.json(.GET, "/v1/peers")
            let (_, placement, _) = try await api.json(.GET, "/v1/placement")
            let screen = render(peers: peers, placement: placement)
            // Home and clear, then the new screen: refreshed in place on a terminal.
            print(isatty(STDOUT_FILENO) != 0 ? "\u{1B}[H\u{1B}[2J" + screen : screen)
            refreshes += 1
            if count.map({ refreshes >= $0 }) ?? false { break }
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }

    func render(peers: JSONValue, placement: JSONValue) -> String {
        let peerRows = (peers["peers"]?.arrayValue ?? []).map { peer in
            [peer["id"]?.cell ?? "", peer["models"]?.cell ?? "0", "\(humanBytes(peer["usedBytes"])) / \(humanBytes(peer["capacityBytes"]))",
             peer["inFlight"]?.cell ?? "-", peer["reportAgeMillis"].map { "\($0.cell) ms" } ?? "-",
             (peer["shuttingDown"]?.boolValue ?? false) ? "shutting down" : "up"]
        }
        // Per model: copies, loaded copies, and the request rate summed over its copies.
        var byModel: [String: (copies: Int, loaded: Int, rate: Double, inFlight: Int)] = [:]
        for copy in placement["copies"]?.arrayValue ?? [] {
            guard let model = copy["model"]?.stringValue else { continue }
            var entry = byModel[model] ?? (0, 0, 0, 0)
            entry.copies += 1
            if copy["state"]?.stringValue == "loaded" { entry.loaded += 1 }
            entry.rate += copy["requestsPerSecond"]?.doubleValue ?? 0
            entry.inFlight += Int(copy["inFlight"]?.int64Value ?? 0)
            byModel[model] = entry
        }
        let busiest = byModel.sorted { ($0.value.rate, $1.key) > ($1.value.rate, $0.key) }.prefix(models)
        let modelRows = busiest.map { model, entry in
            [model, String(format: "%.1f", entry.rate), String(entry.inFlight), "\(entry.loaded)/\(entry.copies)"]
        }
        let time = ISO8601DateFormatter().string(from: Date())
        return """
            \(peerRows.count) peers, \(byModel.count) models loaded or loading, at etcd revision \(placement["revision"]?.cell ?? "?") (\(time))

            \(Table.render(["PEER", "MODELS", "MEMORY", "IN-FLIGHT", "REPORT AGE", "STATE"], peerRows))

            \(Table.render(["MODEL", "REQ/S", "IN-FLIGHT", "LOADED/COPIES"], modelRows))
            """
    }
}
