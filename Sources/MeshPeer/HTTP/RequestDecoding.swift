import Foundation
import Hummingbird
import MeshCore
import NIOCore
import OpenInference

extension Request {
    /// The body as JSON of `type`, refused with 413 over `limit` and 400 (naming the field)
    /// when it does not decode; `what` names the body in the message ("model registration").
    /// Known fields given as `null` are refused too (``TypedFieldsBody``).
    mutating func decodeJSON<Body: TypedFieldsBody>(_ type: Body.Type, limit: Int = 1 << 20, what: String) async throws -> Body {
        let body = try await collectBody(limit: limit)
        let decoded: Body
        do {
            decoded = try JSONDecoder().decode(Body.self, from: Data(body.readableBytesView))
        } catch {
            throw MeshError.invalidArgument("the body is not a valid \(what): \(Self.describe(error))")
        }
        if let json = try? JSONParser.parse(body.readableBytesView), let field = Body.nullField(in: json) {
            throw MeshError.invalidArgument("the body is not a valid \(what): field \"\(field)\" is null; leave it out instead")
        }
        return decoded
    }

    /// A decoding error in words a client can act on.
    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing field \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "field \"\(path)\" has the wrong type"
        case DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "not valid JSON" : "field \"\(path)\": \(context.debugDescription)"
        default: return "\(error)"
        }
    }

    /// `limit` and `after` of a listing: at most `maxLimit` per page (default 100), starting
    /// after an id (empty: from the start).
    func pageQuery(kind: String, maxLimit: Int = 10_000) throws(MeshError) -> (limit: Int, after: ModelID?) {
        var limit = 100
        if let text = uri.queryParameters.get("limit") {
            guard let value = Int(text), value >= 1, value <= maxLimit else {
                throw .invalidArgument("limit must be an integer from 1 to \(maxLimit), not \"\(TextLimit.clip(text))\"")
            }
            limit = value
        }
        var after: ModelID?
        if let text = uri.queryParameters.get("after"), !text.isEmpty {
            after = try MeshError.parseID(text, kind: kind)
        }
        return (limit, after)
    }
}
