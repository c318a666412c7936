import MeshCore

/// A fake clock: just a time that tests move by hand.
struct FakeClock {
    var now = MeshTime(millisecondsSinceEpoch: 1_800_000_000_000)
    mutating func advance(_ duration: Duration) { now = now + duration }
}

/// A deterministic random source (SplitMix64) so routing tests replay exactly.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64 = 42) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func model(_ name: String) -> ModelID { try! ModelID(name) }
func peer(_ name: String) -> PeerID { try! PeerID(name) }

let MiB: Int64 = 1 << 20

func peerRecord(capacity: Int64 = 1024 * MiB, zone: String? = nil, labels: [String] = [], shuttingDown: Bool = false) -> PeerRecord {
    PeerRecord(httpAddress: "127.0.0.1:1", zone: zone, labels: labels, capacityBytes: capacity, version: "test",
               startTime: .epoch, shuttingDown: shuttingDown, instance: "i")
}

func modelRecord(labels: [String] = [], minCopies: Int = 0, maxCopies: Int? = nil) -> ModelRecord {
    ModelRecord(type: "synthetic", storage: .uri("file:///m"), minCopies: minCopies, maxCopies: maxCopies, labels: labels, created: .epoch)
}

/// A view with the given peers (all with the default record unless given).
func view(peers: [String], records: [String: PeerRecord] = [:]) -> ClusterView {
    var view = ClusterView()
    for name in peers { view.apply(.peerPut(peer(name), records[name] ?? peerRecord())) }
    return view
}

extension ClusterView {
    mutating func addCopy(_ model: ModelID, on peer: PeerID, state: CopyRecord.State = .loaded, size: Int64 = 100 * MiB, since: MeshTime = .epoch) {
        apply(.copyPut(model, peer, CopyRecord(state: state, since: since, sizeBytes: size)))
    }
}

import Synchronization

/// A fake clock tests share by reference, so a non-mutating test can move it.
final class SteppingClock: Sendable {
    private let time = Mutex(MeshTime(millisecondsSinceEpoch: 1_800_000_000_000))
    var now: MeshTime { time.withLock { $0 } }
    func advance(_ duration: Duration) { time.withLock { $0 = $0 + duration } }
}
