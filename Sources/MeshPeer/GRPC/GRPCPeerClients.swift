import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import MeshCore
import NIOPosix
import OpenInference
import OpenInferenceGRPC
import ServiceLifecycle
import Synchronization

/// gRPC clients to other peers, one per address, for hops of gRPC calls. A Service: it runs
/// every client's connections and closes them on shutdown, or when the peer leaves the cluster.
///
/// Calls fail fast (no "wait for ready"): a peer that refuses connections is reported at once
/// as ``PeerUnreachable`` so the router tries elsewhere, instead of waiting for the deadline.
final class GRPCPeerClients: Service, Sendable {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    let maxMessageBytes: Int
    let logger: Logger
    private let state = Mutex(State())
    let loadReports: PiggybackedLoadReports
    let selfID: PeerID
    let credentials: PeerCredentials
    let clock: any PeerClock
    let transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity
    /// Where the connections to peers live (the gRPC server's own loop, or NIO's shared group).
    let eventLoopGroup: MultiThreadedEventLoopGroup
    private let started: AsyncStream<Client>.Continuation
    private let starts: AsyncStream<Client>

    struct State {
        var clients: [String: Client] = [:]
        var stopped = false
    }

    init(selfID: PeerID, maxMessageBytes: Int, loadReports: PiggybackedLoadReports, credentials: PeerCredentials, clock: any PeerClock,
         transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext, eventLoopGroup: MultiThreadedEventLoopGroup? = nil,
         logger: Logger) {
        self.transportSecurity = transportSecurity
        self.eventLoopGroup = eventLoopGroup ?? .singletonMultiThreadedEventLoopGroup
        self.selfID = selfID
        self.credentials = credentials
        self.clock = clock
        self.maxMessageBytes = maxMessageBytes
        self.loadReports = loadReports
        self.logger = logger
        (starts, started) = AsyncStream.makeStream(of: Client.self)
    }

    func run() async throws {
        await withDiscardingTaskGroup { group in
            for await client in starts.cancelOnGracefulShutdown() {
                group.addTask {
                    do {
                        try await client.runConnections()
                    } catch {
                        self.logger.debug("gRPC client to a peer stopped", metadata: ["error": "\(error)"])
                    }
                }
            }
            let clients = state.withLock { state in
                state.stopped = true
                defer { state.clients.removeAll() }
                return Array(state.clients.values)
            }
            for client in clients { client.beginGracefulShutdown() }
        }
    }

    /// Closes the clients to addresses no live peer has (their peers left the cluster).
    func forget(allBut live: Set<String>) {
        let gone = state.withLock { state in
            let addresses = state.clients.keys.filter { !live.contains($0) }
            return addresses.compactMap { state.clients.removeValue(forKey: $0) }
        }
        for client in gone { client.beginGracefulShutdown() }
    }

    private func client(for address: String, peer: PeerID) throws -> Client {
        try state.withLock { state in
            if let client = state.clients[address] { return client }
            guard !state.stopped else { throw PeerUnreachable(peer: peer, reason: "this peer is shutting down", refused: false, mayHaveRun: false) }
            guard let (host, port) = GRPCAddress.split(address) else {
                throw PeerUnreachable(peer: peer, reason: "its gRPC address \(address) is not host:port", refused: false, mayHaveRun: false)
            }
            let transport = try HTTP2ClientTransport.Posix(
                target: Self.target(host: host, port: port),
                transportSecurity: transportSecurity,
                config: .defaults { config in
                    // Reconnect soon after a peer restarts on the same address.
                    config.backoff = .init(initial: .milliseconds(100), max: .seconds(1), multiplier: 1.6, jitter: 0.2)
                    config.connection.maxIdleTime = .seconds(300)
                    // A hop is one request at a time per call: holding its flush (up to 100 µs
                    // by default) to batch writes only delays it.
                    config.connection.flushCoalescing = nil
                },
                eventLoopGroup: eventLoopGroup
            )
            let client = GRPCClient(transport: transport, interceptors: MeshTracing.isEnabled ? [TracingClientInterceptor()] : [])
            state.clients[address] = client
            started.yield(client)
            return client
        }
    }

    /// Sends `message` (already encoded) to `peer` as a hop of `method` and returns its answer
    /// as bytes. A decline comes back as ``HopResult/declined(_:)``; another error the peer
    /// answered with is thrown as is, for the caller to relay to its client.
    func send(
        _ method: MethodDescriptor, _ message: [UInt8], to peer: PeerID, at record: PeerRecord, hop: Hop, modelID: ModelID,
        excluded: Set<PeerID>, deadline: ContinuousClock.Instant
    ) async throws -> HopResult<GRPCReply> {
        guard let address = record.grpcAddress else {
            throw PeerUnreachable(peer: peer, reason: "it serves no gRPC", refused: false, mayHaveRun: false)
        }
        let client = try client(for: address, peer: peer)
        var metadata: Metadata = [:]
        metadata.addString(hop.rawValue, forKey: MeshHeaders.hop)
        metadata.addString(modelID.rawValue, forKey: MeshHeaders.modelID)
        let excludedText = excluded.isEmpty ? nil : excluded.map(\.rawValue).sorted().joined(separator: ",")
        if let excludedText { metadata.addString(excludedText, forKey: MeshHeaders.excluded) }
        let parts = PeerOnlyRequest.grpcParts(method: method.fullyQualifiedMethod, model: modelID.rawValue, hop: hop.rawValue, excluded: excludedText)
        if let signature = credentials.sign(parts, peer: selfID, now: clock.now) { metadata.addString(signature, forKey: PeerCredentials.header) }
        var options = CallOptions.defaults
        options.timeout = max(.milliseconds(1), deadline - .now)
        options.waitForReady = false
        // The client applies the request limit to the messages it receives.
        options.maxRequestMessageBytes = maxMessageBytes
        options.maxResponseMessageBytes = maxMessageBytes
        let outcome: Result<ClientResponse<[UInt8]>.Contents, RPCError>
        do {
            outcome = try await client.unary(
                request: ClientRequest(message: message, metadata: metadata), descriptor: method,
                serializer: RawMessageSerializer(), deserializer: RawMessageDeserializer(limit: maxMessageBytes, role: "response"),
                options: options
            ) { response in response.accepted }
        } catch let error as RPCError {
            outcome = .failure(error)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw PeerUnreachable(peer: peer, reason: "\(error)", refused: false)
        }
        switch outcome {
        case .success(let contents):
            loadReports.deliver(contents.metadata.first(MeshHeaders.load), from: peer)
            switch contents.message {
            case .success(let message):
                var relayed: Metadata = [:]
                relayed.addString(contents.metadata.first(MeshHeaders.servedBy) ?? peer.rawValue, forKey: MeshHeaders.servedBy)
                return .served(GRPCReply(message: message, metadata: relayed))
            case .failure(let error):
                return try classify(error, from: peer)
            }
        case .failure(let error):
            return try classify(error, from: peer)
        }
    }

    /// Tells a peer's answer (a decline, or an error to relay) from a failure to reach it.
    private func classify(_ error: RPCError, from peer: PeerID) throws -> HopResult<GRPCReply> {
        loadReports.deliver(error.metadata.first(MeshHeaders.load), from: peer)
        if let outcome = error.metadata.first(MeshHeaders.route).flatMap(HopDecline.Outcome.init(rawValue:)) {
            let revision = error.metadata.first(MeshHeaders.revision).flatMap(Int64.init)
            return .declined(HopDecline(outcome: outcome, revision: revision), message: error.message)
        }
        if error.metadata.first(MeshHeaders.servedBy) != nil { throw error }
        switch error.code {
        case .deadlineExceeded:
            throw MeshError.deadlineExceeded("peer \(peer) did not answer before the request's deadline")
        case .cancelled where Task.isCancelled:
            throw CancellationError()
        default:
            let text = "\(error)"
            let refused = text.contains("Could not establish a connection") || text.contains("transient failure")
            throw PeerUnreachable(peer: peer, reason: error.message, refused: refused)
        }
    }

    /// An IP literal is dialled as an address: as a DNS name it would become the TLS server
    /// name, which may not be an IP address.
    static func target(host: String, port: Int) -> any ResolvableTarget {
        if host.contains(":") { return .ipv6(address: host, port: port) }
        if !host.isEmpty, host.allSatisfy({ $0.isNumber || $0 == "." }) { return .ipv4(address: host, port: port) }
        return .dns(host: host, port: port)
    }
}

/// A gRPC answer as bytes, with the metadata to send before it (`mm-served-by`).
struct GRPCReply: Sendable {
    var message: [UInt8]
    var metadata: Metadata
}
