import AsyncHTTPClient
import Logging
import MeshCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import OpenInference
import Synchronization

/// Sends hops to other peers over pooled keep-alive HTTP/1.1 connections (TLS when the mesh
/// runs it) and relays the bytes.
public final class PeerForwarder: Sendable {
    let peers: PeerHTTP
    /// For liveness probes of peers (``PeerProbe``) only.
    let probes: PeerHTTP
    private var http: HTTPClient { peers.client }
    let selfID: PeerID
    let maxResponseBytes: Int
    let loadReports: PiggybackedLoadReports
    let credentials: PeerCredentials
    let clock: any PeerClock

    init(selfID: PeerID, maxResponseBytes: Int, loadReports: PiggybackedLoadReports, credentials: PeerCredentials, clock: any PeerClock,
         tls: TLSConfiguration? = nil, connectTimeout: Duration = .seconds(1)) {
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = tls
        configuration.httpVersion = .http1Only
        configuration.timeout.connect = .milliseconds(connectTimeout.milliseconds)
        // A refused connection must surface at once so the router can exclude the peer.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        configuration.connectionPool.idleTimeout = .seconds(60)
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        // Hops are traced by the router's span and the traceparent put below; the client's own
        // spans would also trace gossip and probes as traces of their own.
        configuration.tracing.tracer = nil
        let scheme = tls == nil ? "http" : "https"
        self.peers = PeerHTTP(client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration), scheme: scheme)
        // Liveness probes get connections of their own: behind busy hops in the same pool they
        // would wait for a connection and time out, and a live peer would look frozen.
        self.probes = PeerHTTP(client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration), scheme: scheme)
        self.selfID = selfID
        self.maxResponseBytes = maxResponseBytes
        self.loadReports = loadReports
        self.credentials = credentials
        self.clock = clock
    }

    public func shutdown() async throws {
        try await http.shutdown()
        try await probes.client.shutdown()
    }

    /// Relays one call to `peer` as a hop.
    func send(
        to peer: PeerID, at record: PeerRecord, method: HTTPMethod, path: String, headers: [(String, String)],
        body: ByteBuffer?, hop: Hop, excluded: Set<PeerID>, deadline: ContinuousClock.Instant
    ) async throws -> HopResult<HTTPReply> {
        var request = HTTPClientRequest(url: peers.url(record, path))
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: MeshHeaders.hop, value: hop.rawValue)
        let excludedText = excluded.isEmpty ? nil : excluded.map(\.rawValue).sorted().joined(separator: ",")
        if let excludedText { request.headers.replaceOrAdd(name: MeshHeaders.excluded, value: excludedText) }
        let parts = PeerOnlyRequest.restParts(method: method.rawValue, path: path, hop: hop.rawValue, excluded: excludedText)
        if let signature = credentials.sign(parts, peer: selfID, now: clock.now) {
            request.headers.replaceOrAdd(name: PeerCredentials.header, value: signature)
        }
        let remaining = deadline - .now
        request.headers.replaceOrAdd(name: MeshHeaders.timeoutMillis, value: String(max(1, remaining.milliseconds)))
        MeshTracing.inject(into: &request.headers)
        if let body { request.body = .bytes(body) }
        do {
            let response = try await http.execute(request, timeout: .milliseconds(max(1, remaining.milliseconds)))
            let bytes = try await response.body.collect(upTo: maxResponseBytes)
            loadReports.deliver(response.headers.first(name: MeshHeaders.load), from: peer)
            let replyHeaders = response.headers.filter { $0.name.lowercased() != MeshHeaders.load }.map { ($0.name.lowercased(), $0.value) }
            let reply = HTTPReply(status: Int(response.status.code), headers: replyHeaders, body: bytes)
            if let outcome = reply.header(MeshHeaders.route).flatMap(HopDecline.Outcome.init(rawValue:)) {
                let revision = reply.header(MeshHeaders.revision).flatMap(Int64.init)
                return .declined(HopDecline(outcome: outcome, revision: revision), message: reply.errorMessage)
            }
            return .served(reply)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw MeshError.deadlineExceeded("peer \(peer) did not answer before the request's deadline")
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
        } catch let error as MeshError {
            throw error
        } catch {
            throw PeerUnreachable(peer: peer, reason: "\(error)", refused: false)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
