import Foundation
import MeshCore

/// What gossip carries between peers (a POST body, or the `mm-load` header of a hop's answer):
/// load reports with their age, so the peers' clocks need not agree.
public struct GossipMessage: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        public var report: LoadReport
        public var ageMillis: Int64
    }

    public var entries: [Entry]

    /// A message of `reports`, each aged from `now`.
    public init(_ reports: [LoadReport], now: MeshTime) {
        entries = reports.map { Entry(report: $0, ageMillis: max(0, (now - $0.time).milliseconds)) }
    }

    public func encoded() -> [UInt8] {
        (try? JSONEncoder().encode(self)).map { Array($0) } ?? []
    }

    /// The plausible reports of another peer in `bytes`, dated on this peer's clock: malformed
    /// messages yield none, and reports of `me`, with impossible numbers, older than `maxAge`,
    /// or beyond the first `limit` entries are left out (``LoadReport/received(_:ageMillis:now:maxAge:)``).
    public static func reports(in bytes: [UInt8], me: PeerID, now: MeshTime, maxAge: Duration, limit: Int) -> [LoadReport] {
        guard let message = try? JSONDecoder().decode(GossipMessage.self, from: Data(bytes)) else { return [] }
        return message.entries.prefix(limit).compactMap { entry in
            entry.report.peer == me ? nil : LoadReport.received(entry.report, ageMillis: entry.ageMillis, now: now, maxAge: maxAge)
        }
    }
}
