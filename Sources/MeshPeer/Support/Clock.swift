import Foundation
import MeshCore
import Synchronization

/// The time as the peer's parts read it: wall-clock time for records and MeshCore's decisions.
/// Injected, so that unit tests of the shell move time by hand.
public protocol PeerClock: Sendable {
    var now: MeshTime { get }
}

/// The system's wall clock.
public struct SystemClock: PeerClock {
    public init() {}
    public var now: MeshTime { .now }
}

/// A clock that moves only when told to, for tests.
public final class ManualClock: PeerClock {
    private let time: Mutex<MeshTime>

    public init(_ start: MeshTime = MeshTime(millisecondsSinceEpoch: 1_800_000_000_000)) {
        time = Mutex(start)
    }

    public var now: MeshTime { time.withLock { $0 } }

    public func advance(_ duration: Duration) {
        time.withLock { $0 = $0 + duration }
    }
}

extension MeshTime {
    /// The wall clock now.
    static var now: MeshTime {
        MeshTime(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
    }
}
