import Foundation
import MeshCore

/// What a chaos run observed.
public struct ChaosReport: Sendable {
    /// One fault and what clients saw while it lasted.
    public struct Kill: Sendable {
        public var fault: ChaosFault
        public var target: String
        /// Seconds after the start of the run.
        public var at: Double
        /// Models that had a copy on the killed peer.
        public var affectedModels: Int
        /// Time until every affected model had served a request again (nil: not all did).
        public var recovery: Duration?
        /// Time until the restarted (or thawed) process was ready.
        public var restartedIn: Duration?
        /// Requests started from the fault until shortly after it ended, and their errors.
        public var requests = 0
        public var errors = 0
        public var p99Millis: Double = 0
    }

    public var options: ChaosOptions
    public var requests = 0
    public var succeeded = 0
    /// Requests that failed within their deadline, as a client saw them.
    public var errors: [String] = []
    public var latenciesMillis: [Double] = []
    public var kills: [Kill] = []
    public var registeredAtStart = 0
    public var lostRegistrations: [String] = []
    public var unservable: [String] = []
    /// Peers whose copy records did not match what they held two lease TTLs after the run.
    public var copyRecordMismatches: [String] = []

    public var passed: Bool { lostRegistrations.isEmpty && unservable.isEmpty && errors.isEmpty }

    public func percentile(_ p: Double) -> Double {
        Self.percentile(p, of: latenciesMillis)
    }

    static func percentile(_ p: Double, of latenciesMillis: [Double]) -> Double {
        guard !latenciesMillis.isEmpty else { return 0 }
        let sorted = latenciesMillis.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
        return sorted[max(0, index)]
    }

    /// A Markdown summary.
    public var markdown: String {
        func ms(_ value: Double) -> String { String(Int(value.rounded())) + " ms" }
        func seconds(_ duration: Duration?) -> String {
            guard let duration else { return "not recovered" }
            let tenths = Int((duration.seconds * 10).rounded())
            return "\(tenths / 10).\(tenths % 10) s"
        }
        var lines = [
            "| measure | value |", "|---|---|",
            "| peers / etcd members / models | \(options.peers) / \(options.etcdMembers) / \(options.models) |",
            "| duration, offered rate | \(Int(options.duration.seconds)) s, \(Int(options.rate)) requests/s |",
            "| faults, in turn every \(Int(options.killEvery.seconds)) s, each lasting \(Int(options.restartAfter.seconds)) s | \(options.faults.map(\.describing).joined(separator: "; ")) |",
            "| requests / succeeded | \(requests) / \(succeeded) |",
            "| client-visible errors | \(errors.count) |",
            "| latency p50 / p99 / max | \(ms(percentile(0.5))) / \(ms(percentile(0.99))) / \(ms(latenciesMillis.max() ?? 0)) |",
            "| registrations at start / lost | \(registeredAtStart) / \(lostRegistrations.count) |",
            "| models not servable at the end | \(unservable.count) |",
            "| peers whose copy records differ from their holdings after two lease TTLs | \(copyRecordMismatches.count)\(copyRecordMismatches.isEmpty ? "" : " (" + copyRecordMismatches.joined(separator: "; ") + ")") |",
            "",
            "| fault | target | at | models affected | all serving again after | back and ready after | requests during | errors | p99 during |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for kill in kills {
            lines.append("| \(kill.fault.rawValue) | \(kill.target) | \(Int(kill.at)) s | \(kill.affectedModels) | \(seconds(kill.recovery)) | "
                + "\(seconds(kill.restartedIn)) | \(kill.requests) | \(kill.errors) | \(ms(kill.p99Millis)) |")
        }
        if !errors.isEmpty {
            lines.append("")
            lines.append("Errors by kind (model names left out):")
            // "chaos-12: HTTP 503 {...}" counts as "HTTP 503 {...}".
            let kinds = Dictionary(grouping: errors) { error in
                String(error.drop(while: { $0 != ":" }).dropFirst().prefix(160)).trimmingCharacters(in: .whitespaces)
            }
            for (kind, list) in kinds.sorted(by: { $0.value.count > $1.value.count }).prefix(8) {
                lines.append("- \(list.count) × \(kind)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
