import AsyncHTTPClient
import Foundation
import MeshCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// Requests to a runtime server's REST endpoint over one keep-alive client, with the server's
/// failures turned into ``MeshError``s that say which server failed and how.
struct ServerHTTP: Sendable {
    let client: HTTPClient
    let baseURL: String
    /// For messages: `MLServer at http://127.0.0.1:8080`.
    let label: String
    let maxResponseBytes: Int

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
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw Unreachable(description: "\(label) did not answer \(method) \(path): \(error)", refused: Self.isRefused(error))
        }
        let bytes: ByteBuffer
        do {
            bytes = try await response.body.collect(upTo: maxResponseBytes)
        } catch {
            throw MeshError.unavailable("\(label) sent a response to \(method) \(path) that could not be read (over \(ByteCount(Int64(maxResponseBytes))), or cut short): \(error)")
        }
        return Reply(status: Int(response.status.code), body: Array(buffer: bytes))
    }

    /// Whether `error` says nothing listens at the address.
    static func isRefused(_ error: any Error) -> Bool {
        if let error = error as? NIOConnectionError {
            return error.connectionErrors.contains { isRefused($0.error) }
        }
        if let error = error as? IOError { return error.errnoCode == ECONNREFUSED }
        return "\(error)".localizedCaseInsensitiveContains("connection refused")
    }
}
