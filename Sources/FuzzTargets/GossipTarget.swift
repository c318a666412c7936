import MeshCore
import MeshGossip

/// Gossip messages, read as `LoadGossip.receive` reads a POST body or an `mm-load` header, then
/// taken into a cluster view that knows the senders. Input: the message bytes.
enum GossipTarget {
    static let me = PeerID(trusted: "fuzz-me")
    static let now = MeshTime(millisecondsSinceEpoch: 1_760_000_000_000)
    static let maxAge: Duration = .seconds(10)
    static let sender = PeerRecord(httpAddress: "127.0.0.1:8008", capacityBytes: 1 << 30, version: "fuzz", startTime: .epoch, instance: "fuzz")

    static func run(_ input: [UInt8]) -> FuzzOutcome {
        let reports = GossipMessage.reports(in: input, me: me, now: now, maxAge: maxAge, limit: 9)
        guard !reports.isEmpty else { return .refused("no plausible reports") }
        var view = ClusterView()
        for report in reports {
            invariant(report.peer != me, "a report about this peer was taken")
            invariant(report.time <= now && report.time >= now - maxAge, "report dated \(report.time) outside the accepted age")
            view.apply(.peerPut(report.peer, sender))
            view.receive(report)
            _ = report.freeBytes
        }
        return .accepted
    }
}
