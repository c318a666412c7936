import Foundation
import KeepAliveHTTP
import MeshCore
import NIOCore
import NIOHTTP1
import NIOPosix
import OpenInferenceGRPC

/// Requests to a runtime server's REST endpoint over keep-alive connections, with the server's
/// failures turned into errors that say which server failed and how.
struct ServerHTTP: Sendable {
    let client: KeepAliveHTTPClient
    let baseURL: String
    /// For messages: `MLServer mlserver at http://127.0.0.1:8080`.
    let label: String

    /// `baseURL` is `http://host:port` (checked by ``RuntimeServerConfiguration``).
    let server: KeepAliveHTTPClient.Server

    init(baseURL: String, label: String, maxResponseBytes: Int) {
        let (host, port) = GRPCAddress.split(String(baseURL.dropFirst("http://".count))) ?? ("127.0.0.1", 80)
        var configuration = KeepAliveHTTPClient.Configuration(maxResponseBytes: maxResponseBytes)
        // The server's repository and inference calls are safe to send again when a kept
        // connection turns out closed (the server's own idle timeout).
        configuration.retryWhenReusedConnectionCloses = true
        client = KeepAliveHTTPClient(configuration: configuration)
        server = .init(host: host, port: port)
        self.baseURL = baseURL
        self.label = label
    }

    struct Reply: Sendable {
        var status: Int
        var body: [UInt8]

        var isSuccess: Bool { (200..<300).contains(status) }

        /// The server's `{"error": "..."}` message, or the body's text.
        var message: String {
            if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let error = object["error"] ?? object["detail"] {
                return TextLimit.clip("\(error)", to: 500)
            }
            return TextLimit.clip(String(decoding: body.prefix(500), as: UTF8.self), to: 500)
        }
    }

    /// The server did not answer at all (refused, reset, timed out).
    struct Unreachable: Error, CustomStringConvertible {
        let description: String
        /// Nothing listens: the server is down, not slow.
        let refused: Bool
    }

    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, timeout: Duration) async throws -> Reply {
        do {
            let response = try await client.send(request(method, path, body: body), to: server, timeout: timeout)
            return Reply(status: response.status, body: Array(buffer: response.body))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw unreachable(method, path, error)
        }
    }

    /// ``send(_:_:body:timeout:)`` from a caller on `loop`, on a connection of that loop;
    /// `completion` runs there.
    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, timeout: Duration, on loop: any EventLoop,
              then completion: @escaping @Sendable (Result<Reply, any Error>) -> Void) {
        client.send(request(method, path, body: body), to: server, timeout: timeout, on: loop) { answered in
            completion(answered.map { Reply(status: $0.status, body: Array(buffer: $0.body)) }.mapError { unreachable(method, path, $0) })
        }
    }

    private func request(_ method: HTTPMethod, _ path: String, body: [UInt8]?) -> KeepAliveHTTPClient.Request {
        var request = KeepAliveHTTPClient.Request(method: method, path: path, body: body.map { ByteBuffer(bytes: $0) })
        if body != nil { request.headers.add(name: "content-type", value: "application/json") }
        return request
    }

    private func unreachable(_ method: HTTPMethod, _ path: String, _ error: any Error) -> Unreachable {
        if let failure = error as? KeepAliveHTTPClient.Failure {
            return Unreachable(description: "\(label) did not answer \(method) \(path): \(failure.description)", refused: failure.refused)
        }
        return Unreachable(description: "\(label) did not answer \(method) \(path): \(error)", refused: KeepAliveHTTPClient.isRefused(error))
    }
}
