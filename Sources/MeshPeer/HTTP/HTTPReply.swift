import HTTPTypes
import Hummingbird
import NIOCore
import OpenInference
import MeshCore

/// A response as bytes, so it can be produced locally or relayed from another peer unchanged.
public struct HTTPReply: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: ByteBuffer

    public init(status: Int, headers: [(String, String)] = [], body: ByteBuffer) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func json(_ status: Int = 200, _ bytes: [UInt8], headers: [(String, String)] = []) -> HTTPReply {
        HTTPReply(status: status, headers: [("content-type", "application/json")] + headers, body: ByteBuffer(bytes: bytes))
    }

    /// The one mapping of errors to HTTP: the kind's status and `{"error": ...}`; a declined
    /// hop also carries its reason in `mm-route` (and `mm-revision`) and who declined it.
    static func error(_ error: MeshError, peer: PeerID? = nil) -> HTTPReply {
        var headers: [(String, String)] = []
        if let decline = error.decline {
            headers.append((MeshHeaders.route, decline.outcome.rawValue))
            if let peer { headers.append((MeshHeaders.servedBy, peer.rawValue)) }
            if let revision = decline.revision { headers.append((MeshHeaders.revision, String(revision))) }
        }
        return json(error.httpStatus, error.jsonBody, headers: headers)
    }

    var response: Response {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        return Response(status: HTTPResponse.Status(code: status), headers: fields, body: ResponseBody(byteBuffer: body))
    }

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name }?.1
    }

    /// The `error` of a JSON error body, else the status.
    var errorMessage: String {
        (try? JSONParser.parse(Array(body.readableBytesView)))?["error"]?.stringValue ?? "HTTP \(status)"
    }
}

extension HTTPFields {
    /// The value of a header (case-insensitive name).
    func value(_ name: String) -> String? {
        // The names asked for are lowercase literals: comparing canonical names spares making
        // (and validating) an `HTTPField.Name` on every one of a request's dozen lookups.
        guard !name.utf8.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            return HTTPField.Name(name).flatMap { self[$0] }
        }
        var found: String?
        for field in self where field.name.canonicalName == name {
            // A repeated header reads as HTTPFields joins it.
            guard found == nil else { return HTTPField.Name(name).flatMap { self[$0] } }
            found = field.value
        }
        return found
    }
}

extension Request {
    /// The value of a header (case-insensitive name).
    func header(_ name: String) -> String? {
        headers.value(name)
    }

    /// The body, refused with 413 when over `limit` (checked against Content-Length before
    /// reading, and again while reading chunked bodies).
    mutating func collectBody(limit: Int) async throws(MeshError) -> ByteBuffer {
        if let declared = headers[.contentLength].flatMap(Int.init), declared > limit {
            throw .tooLarge("the request body is \(declared) bytes; this peer accepts at most \(limit) (--max-body-bytes)")
        }
        do {
            return try await collectBody(upTo: limit)
        } catch {
            throw .tooLarge("the request body is larger than \(limit) bytes (--max-body-bytes)")
        }
    }
}
