import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Plain HTTP for tests: status, headers and body bytes. HTTPS is sent without checking the
/// server's certificate (tests of TLS itself use clients of their own, see ``TestTLS``).
public enum TestHTTP {
    static let insecureTLSClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        configuration.tlsConfiguration = tls
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public struct Reply: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: [UInt8]

        public init(status: Int, headers: HTTPHeaders, body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }
        public var text: String { String(decoding: body, as: UTF8.self) }
        public func header(_ name: String) -> String? { headers.first(name: name) }
        /// The body as a JSON object.
        public var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:] }
    }

    public static func get(_ url: String, headers: [(String, String)] = [], timeout: Duration = .seconds(30)) async throws -> Reply {
        try await send(.GET, url, headers: headers, timeout: timeout)
    }

    public static func post(_ url: String, json: String, headers: [(String, String)] = [], timeout: Duration = .seconds(30)) async throws -> Reply {
        try await send(.POST, url, body: Array(json.utf8), headers: [("content-type", "application/json")] + headers, timeout: timeout)
    }

    public static func send(_ method: HTTPMethod, _ url: String, body: [UInt8]? = nil, headers: [(String, String)] = [], timeout: Duration = .seconds(30)) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let client = url.hasPrefix("https:") ? insecureTLSClient : HTTPClient.shared
        let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout.components.seconds * 1000)))
        let bytes = try await response.body.collect(upTo: 256 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView))
    }
}
