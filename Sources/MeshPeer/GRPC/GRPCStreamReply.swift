import Foundation
import GRPCCore
import NIOHPACK

/// A unary call's answer as ``GRPCInferFastPath`` writes it: headers, the message and trailers,
/// or a status alone (gRPC's trailers-only response), spelled as grpc-swift's transport spells
/// them.
enum GRPCStreamReply: Sendable {
    case message(headers: HPACKHeaders, message: [UInt8], trailers: HPACKHeaders)
    case status(trailers: HPACKHeaders)

    init(_ response: ServerResponse<[UInt8]>) {
        switch response.accepted {
        case .success(let contents):
            var headers: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
            Self.add(contents.metadata, to: &headers)
            var trailers: HPACKHeaders = ["grpc-status": "0"]
            Self.add(contents.trailingMetadata, to: &trailers)
            self = .message(headers: headers, message: contents.message, trailers: trailers)
        case .failure(let error):
            self.init(error)
        }
    }

    init(_ error: RPCError) {
        self = .status(trailers: Self.trailersOnly(error))
    }

    /// A status alone: `:status` and `content-type` with `grpc-status`, `grpc-message` and the
    /// error's metadata.
    static func trailersOnly(_ error: RPCError) -> HPACKHeaders {
        var trailers: HPACKHeaders = [":status": "200", "content-type": "application/grpc", "grpc-status": String(error.code.rawValue)]
        if !error.message.isEmpty { trailers.add(name: "grpc-message", value: percentEncoded(error.message)) }
        add(error.metadata, to: &trailers)
        return trailers
    }

    /// The call's metadata from its request headers, as grpc-swift reads it: `-bin` values
    /// base64-decoded (kept as text when they are not base64), pseudo-headers left out.
    static func metadata(of headers: HPACKHeaders) -> Metadata {
        var metadata = Metadata()
        metadata.reserveCapacity(headers.count)
        for (name, value, _) in headers where !name.hasPrefix(":") {
            if name.hasSuffix("-bin"), let bytes = Data(base64Encoded: padded(value)) {
                metadata.addBinary(Array(bytes), forKey: name)
            } else {
                metadata.addString(value, forKey: name)
            }
        }
        return metadata
    }

    private static func add(_ metadata: Metadata, to headers: inout HPACKHeaders) {
        for entry in metadata {
            switch entry.value {
            case .string(let text): headers.add(name: entry.key.lowercased(), value: text)
            case .binary(let bytes): headers.add(name: entry.key.lowercased(), value: Data(bytes).base64EncodedString())
            }
        }
    }

    /// grpc-message is percent-encoded outside printable ASCII (and for '%' itself).
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// gRPC senders may leave base64's padding out.
    private static func padded(_ text: String) -> String {
        let remainder = text.utf8.count % 4
        return remainder == 0 ? text : text + String(repeating: "=", count: 4 - remainder)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
