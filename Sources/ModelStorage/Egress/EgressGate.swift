import AsyncHTTPClient
import NIOCore
import Synchronization

/// How one HTTP storage fetch reaches its hosts: each URL it is about to request (the first and
/// every redirect) is checked against the egress policy, and the HTTP client it gets connects
/// only to the address that was checked.
///
/// A host name is resolved once per fetch; its client maps the name to the checked address
/// (AsyncHTTPClient's DNS override), so a DNS answer that changes between the check and the
/// connection (rebinding) cannot move the download, while the `Host` header, TLS SNI and
/// certificate check keep the name. The clients never follow redirects themselves, whatever
/// the peer's own client does. Call ``shutdown()`` once the fetch's bodies have been read.
final class EgressGate: Sendable {
    typealias Resolve = @Sendable (_ host: String) async throws(StorageError) -> [IPAddress]

    private let policy: EgressPolicy
    /// The storage-config entry's `url`: the operator's, trusted like S3 endpoints.
    private let trustedOrigin: WebAddress?
    private let group: any EventLoopGroup
    private let configuration: HTTPClient.Configuration
    private let resolve: Resolve
    private let state = Mutex(State())

    private struct State {
        /// "" for the client that connects where the URL says (literal addresses, the trusted
        /// origin), `host address` for one pinned to a checked address.
        var clients: [String: HTTPClient] = [:]
        var resolved: [String: [IPAddress]] = [:]
        var isShutDown = false
    }

    init(
        policy: EgressPolicy,
        trustedOrigin: WebAddress?,
        group: any EventLoopGroup,
        requestTimeout: Duration,
        resolve: @escaping Resolve = HostResolver.addresses(of:)
    ) {
        self.policy = policy
        self.trustedOrigin = trustedOrigin
        self.group = group
        self.resolve = resolve
        var configuration = HTTPClient.Configuration()
        // ModelStorage follows redirects itself, checking each hop here first.
        configuration.redirectConfiguration = .disallow
        // The bytes are cached as served; nothing expands behind the model size limit.
        configuration.decompression = .disabled
        // A body that stalls as long as a response head may take is dropped, then resumed.
        configuration.timeout.read = TimeAmount(requestTimeout)
        self.configuration = configuration
    }

    /// The client to request `address` with, once the policy allows it; `subject` starts the
    /// refusal's message (``EgressRefusal/error(subject:allowSetting:)``).
    func client(for address: WebAddress, subject: @autoclosure () -> String) async throws(StorageError) -> HTTPClient {
        if let trustedOrigin, address.sameOrigin(as: trustedOrigin) { return try client(pinnedTo: nil) }
        let port = address.port ?? address.defaultPort
        if let literal = IPAddress(address.host) {
            try check(policy.refusal(host: address.host, port: port, addresses: [literal]), subject())
            return try client(pinnedTo: nil)
        }
        guard EgressPolicy.isPlainHostName(address.host) else {
            throw StorageError(.invalidLocation, "\(subject()) has host '\(address.host)', which is neither an IP address nor a plain host name (letters, digits, '-', '_', dots)")
        }
        try check(policy.refusal(beforeResolving: address.host, port: port), subject())
        let addresses = try await addresses(of: address.host)
        try check(policy.refusal(host: address.host, port: port, addresses: addresses), subject())
        return try client(pinnedTo: (address.host, addresses[0]))
    }

    /// Shuts the fetch's clients down; a later ``client(for:subject:)`` fails as cancelled.
    func shutdown() async {
        let clients = state.withLock { state in
            state.isShutDown = true
            return Array(state.clients.values)
        }
        for client in clients { try? await client.shutdown() }
    }

    private func check(_ refusal: EgressRefusal?, _ subject: @autoclosure () -> String) throws(StorageError) {
        if let refusal { throw refusal.error(subject: subject(), allowSetting: policy.allowSetting) }
    }

    /// One resolution per host and fetch: resumed and redirected requests reuse the checked answer.
    private func addresses(of host: String) async throws(StorageError) -> [IPAddress] {
        if let known = state.withLock({ $0.resolved[host] }) { return known }
        let addresses = try await resolve(host)
        guard !addresses.isEmpty else { throw StorageError(.transport, "HTTP storage host '\(host)' resolved to no address") }
        state.withLock { $0.resolved[host] = addresses }
        return addresses
    }

    private func client(pinnedTo pin: (host: String, address: IPAddress)?) throws(StorageError) -> HTTPClient {
        let key = pin.map { "\($0.host) \($0.address)" } ?? ""
        var configuration = self.configuration
        if let pin { configuration.dnsOverride = [pin.host: "\(pin.address)"] }
        let group = self.group
        return try state.withLock { state throws(StorageError) -> HTTPClient in
            guard !state.isShutDown else { throw .cancelledError() }
            if let client = state.clients[key] { return client }
            let client = HTTPClient(eventLoopGroup: group, configuration: configuration)
            state.clients[key] = client
            return client
        }
    }
}
