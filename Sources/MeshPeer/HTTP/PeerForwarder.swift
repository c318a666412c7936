import AsyncHTTPClient
import Logging
import MeshCore
import NIOCore
import NIOHTTP1
import NIOPosix
import OpenInference
import Synchronization

/// Sends hops to other peers over pooled keep-alive HTTP/1.1 connections and relays the bytes.
public final class PeerForwarder: Sendable {
    let http: HTTPClient
    let selfID: PeerID
    let maxResponseBytes: Int
    /// The closure sits in a struct: a bare function value read through `withLock { $0 }` was
    /// re-wrapped in two reabstraction thunks on every read and stored back, so each hop called
    /// through a chain as long as the number of hops before it (CPU per hop grew without bound).
    private let loadReportHandler = Mutex<LoadReportHandler?>(nil)

    struct LoadReportHandler: Sendable {
        let receive: @Sendable ([UInt8]) -> Void
    }

    /// When each peer's piggybacked report was last taken. Decoding one costs tens of µs of JSON
    /// per hop; reports are weather (gossip pushes them every second), so a tenth of a second
    /// between them is plenty.
    private let reportTaken = Mutex<[PeerID: ContinuousClock.Instant]>([:])
    static let reportInterval: Duration = .milliseconds(100)

    /// Receives the load report a peer piggybacks on its hop responses.
    public func onLoadReport(_ handler: @escaping @Sendable ([UInt8]) -> Void) {
        loadReportHandler.withLock { $0 = LoadReportHandler(receive: handler) }
    }

    public init(selfID: PeerID, maxResponseBytes: Int, connectTimeout: Duration = .seconds(1)) {
        var configuration = HTTPClient.Configuration()
        configuration.httpVersion = .http1Only
        configuration.timeout.connect = .milliseconds(connectTimeout.milliseconds)
        // A refused connection must surface at once so the router can exclude the peer.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        configuration.connectionPool.idleTimeout = .seconds(60)
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.selfID = selfID
        self.maxResponseBytes = maxResponseBytes
    }

    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// True at most once per ``reportInterval`` for each peer.
    func takesReport(from peer: PeerID, now: ContinuousClock.Instant = .now) -> Bool {
        reportTaken.withLock { taken in
            if let last = taken[peer], now - last < Self.reportInterval { return false }
            taken[peer] = now
            return true
        }
    }

    /// Relays one call to `peer` as a hop.
    func send(
        to peer: PeerID, at record: PeerRecord, method: HTTPMethod, path: String, headers: [(String, String)],
        body: ByteBuffer?, hop: Hop, excluded: Set<PeerID>, deadline: ContinuousClock.Instant
    ) async throws -> HopResult<HTTPReply> {
        var request = HTTPClientRequest(url: "http://\(record.httpAddress)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: MeshHeaders.hop, value: hop.rawValue)
        if !excluded.isEmpty { request.headers.replaceOrAdd(name: MeshHeaders.excluded, value: excluded.map(\.rawValue).sorted().joined(separator: ",")) }
        let remaining = deadline - .now
        request.headers.replaceOrAdd(name: MeshHeaders.timeoutMillis, value: String(max(1, remaining.milliseconds)))
        if let body { request.body = .bytes(body) }
        do {
            let response = try await http.execute(request, timeout: .milliseconds(max(1, remaining.milliseconds)))
            let bytes = try await response.body.collect(upTo: maxResponseBytes)
            if let load = response.headers.first(name: MeshHeaders.load), takesReport(from: peer),
               let handler = loadReportHandler.withLock({ $0 }) {
                handler.receive(Array(load.utf8))
            }
            let replyHeaders = response.headers.filter { $0.name.lowercased() != MeshHeaders.load }.map { ($0.name.lowercased(), $0.value) }
            let reply = HTTPReply(status: Int(response.status.code), headers: replyHeaders, body: bytes)
            if let outcome = reply.header(MeshHeaders.route).flatMap(MeshHeaders.RouteOutcome.init(rawValue:)) {
                let message = (try? JSONParser.parse(Array(bytes.readableBytesView)))?["error"]?.stringValue ?? "HTTP \(reply.status)"
                let revision = reply.header(MeshHeaders.revision).flatMap(Int64.init)
                return .declined(RouteDecline(outcome, message, revision: revision))
            }
            return .served(reply)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw InferenceError.deadlineExceeded("peer \(peer) did not answer before the request's deadline")
        } catch let error as HTTPClientError where error == .connectTimeout {
            throw PeerUnreachable(peer: peer, reason: "connection timed out", refused: true)
        } catch let error as HTTPClientError where error == .remoteConnectionClosed {
            throw PeerUnreachable(peer: peer, reason: "connection closed before the answer", refused: false)
        } catch is NIOConnectionError {
            throw PeerUnreachable(peer: peer, reason: "connection refused", refused: true)
        } catch let error as IOError {
            throw PeerUnreachable(peer: peer, reason: "\(error)", refused: error.errnoCode == ECONNREFUSED)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as InferenceError {
            throw error
        } catch {
            throw PeerUnreachable(peer: peer, reason: "\(error)", refused: false)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
