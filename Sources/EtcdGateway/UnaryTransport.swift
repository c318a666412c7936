import Foundation
import KeepAliveHTTP
import NIOCore
import NIOSSL

/// Unary gateway calls as whole HTTP/1.1 messages over keep-alive NIO connections: each call is
/// one write and one aggregated read, with no request or response streams to drive. Watches,
/// which stream, stay on AsyncHTTPClient.
struct UnaryTransport: Sendable {
    /// Where one endpoint is reached.
    struct Endpoint: Sendable {
        var server: KeepAliveHTTPClient.Server
        var secure: Bool
        /// Any path the endpoint URL carries, before `/v3/...`.
        var pathPrefix: String
    }

    let endpoints: [Endpoint]
    /// Calls in flight per endpoint, each on its own connection.
    let limiters: [CallLimiter]
    private let plain: KeepAliveHTTPClient
    /// For `https://` endpoints; the error when their TLS configuration cannot be used.
    private let secure: Result<KeepAliveHTTPClient, any Error>?

    /// `endpoints` are normalized URLs (``EtcdClient/normalize(_:)``).
    init(endpoints: [String], configuration: EtcdClient.Configuration) {
        self.endpoints = endpoints.map(Self.parse)
        limiters = endpoints.map { _ in CallLimiter(limit: configuration.maxConnectionsPerEndpoint) }
        var settings = KeepAliveHTTPClient.Configuration(maxResponseBytes: configuration.maxResponseBytes)
        settings.connectTimeout = configuration.connectTimeout
        // A call on a reused connection that closes may have been applied: it is not repeated
        // here (the client fails over only what is safe to repeat).
        settings.retryWhenReusedConnectionCloses = false
        settings.maxIdlePerServer = configuration.maxConnectionsPerEndpoint
        plain = KeepAliveHTTPClient(configuration: settings)
        if self.endpoints.contains(where: \.secure) {
            secure = Result {
                var tls = settings
                tls.tls = try NIOSSLContext(configuration: configuration.tls ?? .makeClientConfiguration())
                return KeepAliveHTTPClient(configuration: tls)
            }
        } else {
            secure = nil
        }
    }

    /// POSTs a JSON body to `path` on endpoint `index`; returns the status and the whole body.
    /// `timeout` covers waiting for a free connection too.
    func post(_ path: String, body: [UInt8], token: String?, to index: Int, timeout: Duration) async throws -> (status: Int, body: ByteBuffer) {
        let endpoint = endpoints[index]
        // `secure` exists whenever an endpoint is https.
        let client = endpoint.secure ? try secure?.get() ?? plain : plain
        var request = KeepAliveHTTPClient.Request(method: .POST, path: endpoint.pathPrefix + path, body: ByteBuffer(bytes: body))
        request.headers.add(name: "content-type", value: "application/json")
        if let token { request.headers.add(name: "authorization", value: token) }
        let deadline = ContinuousClock.now + timeout
        let response = try await limiters[index].run(within: timeout) {
            try await client.send(request, to: endpoint.server, timeout: max(.milliseconds(1), deadline - .now))
        }
        return (response.status, response.body)
    }

    func close() {
        plain.close()
        if case .success(let client)? = secure { client.close() }
    }

    /// `http://host:port/prefix`, with IPv6 hosts in brackets; the port defaults to the scheme's.
    static func parse(_ url: String) -> Endpoint {
        let components = URLComponents(string: url)
        let secure = components?.scheme?.lowercased() == "https"
        var host = components?.host ?? ""
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return Endpoint(server: .init(host: host, port: components?.port ?? (secure ? 443 : 80)), secure: secure,
                        pathPrefix: components?.path ?? "")
    }
}
