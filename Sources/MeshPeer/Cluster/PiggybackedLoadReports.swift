import MeshCore
import NIOPosix
import Synchronization

/// Where the hop clients (HTTP and gRPC) hand the load report a peer piggybacks on its hop
/// responses (`mm-load`); ``LoadGossip`` takes them from here.
final class PiggybackedLoadReports: Sendable {
    /// The closure sits in a struct: a bare function value read through `withLock { $0 }` was
    /// re-wrapped in two reabstraction thunks on every read and stored back, so each hop called
    /// through a chain as long as the number of hops before it (CPU per hop grew without bound).
    private struct Receiver: Sendable {
        let receive: @Sendable (PeerID, String) -> Void
    }

    private let receiver = Mutex<Receiver?>(nil)

    func connect(_ receive: @escaping @Sendable (_ from: PeerID, _ report: String) -> Void) {
        receiver.withLock { $0 = Receiver(receive: receive) }
    }

    /// Takes `report` in after the answer it came with has gone on: reading it updates the
    /// cluster view, which costs about as much as the rest of a hop on the sender and which the
    /// request does not wait for. On an event loop (where hops run) it is the loop's next task;
    /// elsewhere it is taken in at once.
    func deliver(_ report: String?, from peer: PeerID) {
        guard let report, let receiver = receiver.withLock({ $0 }) else { return }
        if let loop = MultiThreadedEventLoopGroup.currentEventLoop {
            loop.execute { receiver.receive(peer, report) }
        } else {
            receiver.receive(peer, report)
        }
    }
}
