import AsyncHTTPClient
import Foundation
import Logging
import MeshCore
import NIOCore
import ServiceLifecycle
import Synchronization

/// Spreads load reports between peers: every interval this peer pushes its own report, and the
/// freshest reports it has heard, to a few random peers. Reports also ride on every hop's
/// response. A report carries its age rather than a timestamp, so peers' clocks need not agree.
public final class LoadGossip: Service, Sendable {
    public struct Settings: Sendable {
        public var interval: Duration = .seconds(1)
        public var fanout = 3
        /// Reports older than this are dropped.
        public var maxAge: Duration = .seconds(5)
        /// Other peers' reports relayed per message (the payload stays bounded).
        public var relayed = 8
        public init() {}
    }

    let peerID: PeerID
    let mirror: ClusterMirror
    let local: LocalModels
    let health: PeerHealth
    let http: HTTPClient
    let settings: Settings
    let logger: Logger
    private let latest = Mutex<LoadReport?>(nil)

    public init(peerID: PeerID, mirror: ClusterMirror, local: LocalModels, health: PeerHealth, http: HTTPClient,
                settings: Settings, logger: Logger) {
        self.peerID = peerID
        self.mirror = mirror
        self.local = local
        self.health = health
        self.http = http
        self.settings = settings
        self.logger = logger
    }

    /// What goes over the wire: reports with their age.
    struct Message: Codable {
        struct Entry: Codable {
            var report: LoadReport
            var ageMillis: Int64
        }
        var entries: [Entry]
    }

    /// The encoded header and when it was made: encoding costs tens of µs of JSON, and every hop
    /// response carries it, so one encoding serves the hops of the next tenth of a second (the
    /// age it carries is at most that much too young).
    private let encodedHeader = Mutex<(value: String, report: LoadReport, at: ContinuousClock.Instant)?>(nil)
    static let headerReuse: Duration = .milliseconds(100)

    /// This peer's latest report as a compact header value, for piggybacking on hop responses.
    public var headerValue: String? {
        guard let report = latest.withLock({ $0 }) else { return nil }
        let now = ContinuousClock.now
        if let cached = encodedHeader.withLock({ $0 }), cached.report == report, now - cached.at < Self.headerReuse {
            return cached.value
        }
        let message = Message(entries: [.init(report: report, ageMillis: max(0, (MeshTime.now - report.time).milliseconds))])
        guard let value = (try? JSONEncoder().encode(message)).map({ String(decoding: $0, as: UTF8.self) }) else { return nil }
        encodedHeader.withLock { $0 = (value, report, now) }
        return value
    }

    /// Takes reports from a gossip message or a piggybacked header.
    public func receive(_ bytes: [UInt8]) {
        guard let message = try? JSONDecoder().decode(Message.self, from: Data(bytes)) else { return }
        let now = MeshTime.now
        mirror.updateView { view in
            for entry in message.entries where entry.report.peer != peerID && entry.ageMillis >= 0 {
                var report = entry.report
                report.time = now - .milliseconds(entry.ageMillis)
                view.receive(report)
            }
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled {
                    await self.tick(group: &group)
                    try? await Task.sleep(for: self.settings.interval)
                }
            }
        }
    }

    private func tick(group: inout DiscardingTaskGroup) async {
        let now = MeshTime.now
        let report = await local.loadReport(peer: peerID, now: now)
        latest.withLock { $0 = report }
        var view = ClusterView()
        mirror.updateView { current in
            current.receive(report)
            current.expireReports(now: now, maxAge: settings.maxAge)
            view = current
        }
        let unreachable = health.unreachable
        let targets = view.peers.keys.filter { $0 != peerID && !unreachable.contains($0) }.shuffled().prefix(settings.fanout)
        guard !targets.isEmpty else { return }
        let others = view.loads.values.filter { $0.peer != peerID }.sorted { $0.time > $1.time }.prefix(settings.relayed)
        let message = Message(entries: ([report] + others).map { .init(report: $0, ageMillis: max(0, (now - $0.time).milliseconds)) })
        guard let body = try? JSONEncoder().encode(message) else { return }
        for target in targets {
            guard let address = view.peers[target]?.httpAddress else { continue }
            group.addTask {
                var request = HTTPClientRequest(url: "http://\(address)/_mesh/gossip")
                request.method = .POST
                request.headers.add(name: "content-type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
                do {
                    let response = try await self.http.execute(request, timeout: .milliseconds(500))
                    _ = try await response.body.collect(upTo: 1 << 16)
                } catch {
                    self.logger.debug("gossip push failed", metadata: ["peer": "\(target)", "error": "\(error)"])
                }
            }
        }
    }
}
