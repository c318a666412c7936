import MeshCore
@testable import MeshPeer
import NIOPosix
import Synchronization
import Testing

/// Load reports piggybacked on hop answers are taken in after the answer has gone on, not while
/// the request waits.
@Suite struct PiggybackedLoadReportsTests {
    final class Received: Sendable {
        let reports = Mutex<[String]>([])
        var all: [String] { reports.withLock { $0 } }
    }

    @Test func onAnEventLoopTheReportIsTakenInByTheLoopsNextTask() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let reports = PiggybackedLoadReports(), received = Received()
        reports.connect { peer, report in received.reports.withLock { $0.append("\(peer):\(report)") } }
        let loop = group.next()
        let duringTheHop = try await loop.submit {
            reports.deliver(#"{"load":1}"#, from: PeerID(trusted: "b"))
            reports.deliver(nil, from: PeerID(trusted: "c"))
            return received.all
        }.get()
        #expect(duringTheHop.isEmpty)
        let afterwards = try await loop.submit { received.all }.get()
        #expect(afterwards == [#"b:{"load":1}"#])
        try await group.shutdownGracefully()
    }

    @Test func offTheLoopsTheReportIsTakenInAtOnce() {
        let reports = PiggybackedLoadReports(), received = Received()
        reports.deliver("early", from: PeerID(trusted: "a"))  // nobody listens yet: dropped
        reports.connect { peer, report in received.reports.withLock { $0.append("\(peer):\(report)") } }
        reports.deliver("r", from: PeerID(trusted: "a"))
        #expect(received.all == ["a:r"])
    }
}
