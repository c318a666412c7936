import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import OpenInference

/// A tiny client for a peer's REST API.
struct MeshAPI {
    let endpoint: String
    let token: String?
    let tls: TLSFiles

    /// Files for an https endpoint; all nil: the system's roots, no client certificate.
    struct TLSFiles {
        var caFile: String?
        var certificateFile: String?
        var keyFile: String?

        var isEmpty: Bool { caFile == nil && certificateFile == nil && keyFile == nil }

        func configuration() throws -> TLSConfiguration {
            var configuration = TLSConfiguration.makeClientConfiguration()
            do {
                if let caFile { configuration.trustRoots = .file(caFile) }
                switch (certificateFile, keyFile) {
                case (nil, nil): break
                case (let certificate?, let key?):
                    configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                    configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
                default:
                    throw Failure(description: "--cert-file and --key-file go together")
                }
            } catch let failure as Failure {
                throw failure
            } catch {
                throw Failure(description: "cannot read the TLS files: \(error)")
            }
            return configuration
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(endpoint: String, token: String? = nil, tls: TLSFiles = TLSFiles()) {
        self.tls = tls
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
        var configuration = HTTPClient.Configuration()
        if !tls.isEmpty { configuration.tlsConfiguration = try tls.configuration() }
        // A refused connection or handshake (an untrusted certificate, say) is reported at once,
        // not retried until the request's timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let result: Result<(status: Int, body: [UInt8], headers: HTTPHeaders), Failure>
        do {
            let response = try await client.execute(request, timeout: .seconds(120))
            let bytes = try await response.body.collect(upTo: 512 << 20)
            result = .success((Int(response.status.code), Array(bytes.readableBytesView), response.headers))
        } catch {
            result = .failure(Failure(description: "cannot reach the mesh at \(endpoint): \(error)"))
        }
        try? await client.shutdown()
        return try result.get()
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

/// A JSON value as the bytes of a request body or of printed output.
func jsonBytes(_ value: JSONValue) -> [UInt8] {
    var writer = JSONWriter()
    writer.write(value)
    return writer.bytes
}
