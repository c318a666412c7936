import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// An etcd v3 client that speaks the HTTP/JSON gateway (`/v3/...`) of etcd 3.4 and later.
///
/// Requests go to the endpoint that answered last; when it cannot be reached the next endpoint is
/// tried, so a cluster keeps working while one member is down. A request that may already have
/// been applied is never repeated on another endpoint unless repeating it is harmless.
public final class EtcdClient: Sendable {
    public struct Configuration: Sendable {
        /// Client URLs of the cluster's members (`http://127.0.0.1:2379`, or `host:port`).
        public var endpoints: [String]
        /// Upper bound for one unary call, including the body.
        public var requestTimeout: Duration = .seconds(5)
        /// How long to wait for a TCP connection before trying the next endpoint.
        public var connectTimeout: Duration = .seconds(2)
        /// Largest response body accepted (etcd caps requests at 1.5 MiB by default, ranges can be larger).
        public var maxResponseBytes = 512 << 20
        /// Unary calls in flight to one endpoint at once, each on its own connection; more wait
        /// for one to finish (within their timeout), so a burst of requests cannot open
        /// thousands of connections to etcd.
        public var maxConnectionsPerEndpoint = 32
        /// TLS for `https://` endpoints: the CA to trust and, for `--client-cert-auth`, a client
        /// certificate (nil: the system's roots, no certificate).
        public var tls: TLSConfiguration?
        /// A user for etcd's authentication; the client asks `/v3/auth/authenticate` for a token,
        /// sends it with every call, and asks again when etcd says it is no longer valid.
        public var credentials: Credentials?
        /// Told of every unary call when it ends, answered or not (after any failover between
        /// endpoints): the gateway path, such as `/v3/kv/txn`, and how long the call took.
        public var observer: (@Sendable (_ path: String, _ duration: Duration) -> Void)?

        public struct Credentials: Sendable {
            public var username: String
            public var password: String

            public init(username: String, password: String) {
                self.username = username
                self.password = password
            }
        }

        public init(endpoints: [String]) {
            self.endpoints = endpoints
        }
    }

    public let endpoints: [String]
    public let configuration: Configuration
    /// Unary calls.
    let unary: UnaryTransport
    /// Watches (streamed responses).
    let http: HTTPClient
    let logger: Logger
    private let ownsHTTPClient: Bool
    private let preferredEndpoint = Atomic<Int>(0)
    /// The auth token of ``Configuration/credentials``, once asked for.
    private let authToken = Mutex<String?>(nil)

    /// Creates a client with its own connection pool; call ``shutdown()`` when done.
    public convenience init(_ configuration: Configuration, logger: Logger = Logger(label: "etcd")) {
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.timeout.connect = TimeAmount(configuration.connectTimeout)
        httpConfiguration.httpVersion = .http1Only
        // A refused connection must fail at once so the next endpoint can be tried; the pool's
        // default is to keep retrying until the connect timeout.
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        httpConfiguration.decompression = .disabled
        httpConfiguration.tlsConfiguration = configuration.tls
        // The peer traces its etcd calls itself, only those made for a request.
        httpConfiguration.tracing.tracer = nil
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        self.init(configuration, httpClient: http, ownsHTTPClient: true, logger: logger)
    }

    /// Creates a client on a caller-owned `HTTPClient`.
    public convenience init(_ configuration: Configuration, httpClient: HTTPClient, logger: Logger = Logger(label: "etcd")) {
        self.init(configuration, httpClient: httpClient, ownsHTTPClient: false, logger: logger)
    }

    private init(_ configuration: Configuration, httpClient: HTTPClient, ownsHTTPClient: Bool, logger: Logger) {
        precondition(!configuration.endpoints.isEmpty, "an etcd client needs at least one endpoint")
        self.configuration = configuration
        self.endpoints = configuration.endpoints.map(EtcdClient.normalize)
        self.unary = UnaryTransport(endpoints: endpoints, configuration: configuration)
        self.http = httpClient
        self.ownsHTTPClient = ownsHTTPClient
        self.logger = logger
    }

    /// Closes the unary connections, and the watches' connection pool if this client created it.
    public func shutdown() async throws {
        unary.close()
        if ownsHTTPClient { try await http.shutdown() }
    }

    static func normalize(_ endpoint: String) -> String {
        var text = endpoint.trimmingCharacters(in: .whitespaces)
        while text.hasSuffix("/") { text.removeLast() }
        if !text.contains("://") { text = "http://" + text }
        return text
    }

    /// The endpoint order for one call: the last one that worked first, then the rest in turn.
    func endpointOrder() -> [Int] {
        let start = preferredEndpoint.load(ordering: .relaxed) % endpoints.count
        return (0..<endpoints.count).map { (start + $0) % endpoints.count }
    }

    func markWorking(_ index: Int) {
        preferredEndpoint.store(index, ordering: .relaxed)
    }

    /// POSTs `body` to `path` and decodes the answer, failing over between endpoints; tells
    /// ``Configuration/observer`` how long it took.
    ///
    /// - Parameter idempotent: whether the call may be repeated on another endpoint after it may
    ///   have reached the first (reads, keep-alives). Unsafe calls only move on when the
    ///   connection was never established.
    func call<Response: Decodable>(
        _ path: String,
        body: some Encodable,
        operation: String,
        idempotent: Bool,
        requestedRevision: Int64 = 0,
        timeout: Duration? = nil
    ) async throws -> Response {
        let started = ContinuousClock.now
        defer { configuration.observer?(path, ContinuousClock.now - started) }
        let token = try await currentAuthToken()
        do {
            return try await callOnce(path, body: body, operation: operation, idempotent: idempotent,
                                      requestedRevision: requestedRevision, timeout: timeout, token: token)
        } catch let error as EtcdError where token != nil && error.isInvalidAuthToken {
            // Simple tokens lapse after etcd's --auth-token-ttl; ask for a new one, once. The
            // call was refused before it was applied, so repeating it is safe.
            forgetAuthToken(token)
            return try await callOnce(path, body: body, operation: operation, idempotent: idempotent,
                                      requestedRevision: requestedRevision, timeout: timeout, token: try await currentAuthToken())
        }
    }

    /// Drops `token` after etcd refused it, so the next call asks for a new one.
    func forgetAuthToken(_ token: String?) {
        authToken.withLock { if $0 == token { $0 = nil } }
    }

    /// The token to send, asking etcd for one when there is none yet; nil without credentials.
    func currentAuthToken() async throws -> String? {
        guard let credentials = configuration.credentials else { return nil }
        if let token = authToken.withLock({ $0 }) { return token }
        let answer: WireAuthenticateResponse = try await callOnce(
            "/v3/auth/authenticate", body: WireAuthenticateRequest(name: credentials.username, password: credentials.password),
            operation: "authenticate", idempotent: true, requestedRevision: 0, timeout: nil, token: nil
        )
        guard let token = answer.token, !token.isEmpty else {
            throw EtcdError.server(endpoint: endpoints.joined(separator: ","), code: 16, message: "etcd answered the authentication without a token")
        }
        authToken.withLock { $0 = token }
        return token
    }

    private func callOnce<Response: Decodable>(
        _ path: String,
        body: some Encodable,
        operation: String,
        idempotent: Bool,
        requestedRevision: Int64,
        timeout: Duration?,
        token: String?
    ) async throws -> Response {
        let payload = Array(try JSONEncoder().encode(body))
        let timeout = timeout ?? configuration.requestTimeout
        var failures: [String] = []
        for index in endpointOrder() {
            let endpoint = endpoints[index]
            do {
                let (status, bytes) = try await unary.post(path, body: payload, token: token, to: index, timeout: timeout)
                guard status == 200 else {
                    let error = EtcdClient.serverError(endpoint: endpoint, status: HTTPResponseStatus(statusCode: status), body: bytes,
                                                       requestedRevision: requestedRevision)
                    if EtcdClient.isMemberUnavailable(error), idempotent || EtcdClient.isNoLeader(error) {
                        failures.append("\(endpoint): \(error)")
                        continue
                    }
                    throw error
                }
                markWorking(index)
                do {
                    return try JSONDecoder().decode(Response.self, from: Data(bytes.readableBytesView))
                } catch {
                    throw EtcdError.malformedResponse(endpoint: endpoint, detail: "\(operation): \(error)")
                }
            } catch let error as EtcdError {
                throw error
            } catch let error where Task.isCancelled || error is CancellationError {
                throw CancellationError()
            } catch {
                let failure = TransportFailure(error)
                guard failure.neverSent || idempotent else {
                    if failure.isTimeout { throw EtcdError.timedOut(endpoint: endpoint, operation: operation, after: timeout) }
                    throw EtcdError.unreachable(endpoints: [endpoint], reason: failure.reason)
                }
                logger.debug("etcd endpoint failed", metadata: ["endpoint": "\(endpoint)", "operation": "\(operation)", "reason": "\(failure.reason)"])
                failures.append(failure.reason)
            }
        }
        let reasons = Array(Set(failures)).sorted().joined(separator: "; ")
        throw EtcdError.unreachable(endpoints: endpoints, reason: reasons)
    }

    static func serverError(endpoint: String, status: HTTPResponseStatus, body: ByteBuffer, requestedRevision: Int64) -> EtcdError {
        guard let wire = try? JSONDecoder().decode(WireError.self, from: Data(body.readableBytesView)) else {
            return .server(endpoint: endpoint, code: -1, message: "HTTP \(status.code): \(String(buffer: body).prefix(200))")
        }
        return mapServerError(endpoint: endpoint, code: wire.code ?? -1, message: wire.text, requestedRevision: requestedRevision)
    }

    static func mapServerError(endpoint: String, code: Int, message: String, requestedRevision: Int64, lease: LeaseID = .none) -> EtcdError {
        if message.contains("required revision has been compacted") {
            return .compacted(requestedRevision: requestedRevision, compactRevision: 0)
        }
        if message.contains("required revision is a future revision") {
            return .futureRevision(requestedRevision: requestedRevision)
        }
        if message.contains("requested lease not found") {
            return .leaseNotFound(lease)
        }
        return .server(endpoint: endpoint, code: code, message: message)
    }

    static func isMemberUnavailable(_ error: EtcdError) -> Bool {
        if case .server(_, let code, _) = error { return code == 14 }
        return false
    }

    static func isNoLeader(_ error: EtcdError) -> Bool {
        if case .server(_, _, let message) = error { return message.contains("no leader") }
        return false
    }
}

struct WireAuthenticateRequest: Encodable {
    let name: String
    let password: String
}

struct WireAuthenticateResponse: Decodable {
    let token: String?
}
