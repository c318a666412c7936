import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OpenInference

/// A tiny client for a peer's REST API.
struct MeshAPI {
    let endpoint: String
    let token: String?

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(endpoint: String, token: String? = nil) {
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        var text = endpoint
        while text.hasSuffix("/") { text.removeLast() }
        if !text.contains("://") { text = "http://" + text }
        self.endpoint = text
    }

    /// Sends a request; returns the status and body. Network failures become readable errors.
    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = []) async throws -> (status: Int, body: [UInt8], headers: HTTPHeaders) {
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let token { request.headers.replaceOrAdd(name: "authorization", value: "Bearer \(token)") }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                request.headers.add(name: "content-type", value: "application/json")
            }
        }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
            let bytes = try await response.body.collect(upTo: 512 << 20)
            return (Int(response.status.code), Array(bytes.readableBytesView), response.headers)
        } catch {
            throw Failure(description: "cannot reach the mesh at \(endpoint): \(error)")
        }
    }

    /// Sends a request and returns the JSON body of a 2xx answer; otherwise throws the server's error.
    func json(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil) async throws -> (status: Int, value: JSONValue, raw: [UInt8]) {
        let (status, bytes, _) = try await send(method, path, body: body)
        let value = (try? JSONParser.parse(bytes)) ?? .null
        guard (200..<300).contains(status) else {
            throw Failure(description: "HTTP \(status): \(value["error"]?.stringValue ?? String(decoding: bytes, as: UTF8.self))")
        }
        return (status, value, bytes)
    }
}

/// Left-aligned text columns.
enum Table {
    static func render(_ header: [String], _ rows: [[String]]) -> String {
        let widths = header.indices.map { column in
            ([header[column]] + rows.map { column < $0.count ? $0[column] : "" }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

extension JSONValue {
    /// A cell for a table: strings as is, numbers printed, null as "-".
    var cell: String {
        switch self {
        case .string(let text): return text
        case .int(let number): return String(number)
        case .double(let number): return String(number)
        case .bool(let flag): return flag ? "yes" : "no"
        case .null: return "-"
        case .array(let values): return values.map(\.cell).joined(separator: ",")
        case .object: return "{…}"
        }
    }
}

func humanBytes(_ value: JSONValue?) -> String {
    guard let bytes = value?.int64Value else { return "-" }
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var amount = Double(bytes)
    var unit = 0
    while amount >= 1024 && unit < units.count - 1 {
        amount /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", amount, units[unit])
}

/// A request rate for a table cell.
func rate(_ value: JSONValue?) -> String {
    guard let rate = value?.doubleValue else { return "-" }
    return String(format: "%.1f", rate)
}
