import Foundation

/// An `http` or `https` URL taken apart: the pieces requests, signatures and host checks need.
struct WebAddress: Sendable, Hashable, CustomStringConvertible {
    let scheme: String
    /// Lowercased host name or address, without brackets for IPv6.
    let host: String
    let port: Int?
    /// Percent-encoded path as written; empty or starting with `/`.
    let percentEncodedPath: String
    let percentEncodedQuery: String?

    /// Parses `text`, refusing other schemes, user info and missing hosts; the problem is
    /// phrased for a message that names the field.
    static func parse(_ text: String) -> Result<WebAddress, FieldProblem> {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            return .failure(FieldProblem("is not a valid URL"))
        }
        guard scheme == "http" || scheme == "https" else {
            return .failure(FieldProblem("must start with http:// or https://"))
        }
        if components.user != nil || components.password != nil {
            return .failure(FieldProblem("must not carry credentials (user:password@)"))
        }
        // URLComponents keeps the brackets of an IPv6 literal on some platforms.
        guard let bracketed = components.host else { return .failure(FieldProblem("has no host")) }
        let host = bracketed.hasPrefix("[") && bracketed.hasSuffix("]") ? String(bracketed.dropFirst().dropLast()) : bracketed
        guard !host.isEmpty else { return .failure(FieldProblem("has no host")) }
        if components.fragment != nil { return .failure(FieldProblem("must not have a #fragment")) }
        return .success(WebAddress(
            scheme: scheme,
            host: host.lowercased(),
            port: components.port,
            percentEncodedPath: components.percentEncodedPath,
            percentEncodedQuery: components.percentEncodedQuery
        ))
    }

    init(scheme: String, host: String, port: Int?, percentEncodedPath: String, percentEncodedQuery: String? = nil) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.percentEncodedPath = percentEncodedPath
        self.percentEncodedQuery = percentEncodedQuery
    }

    var defaultPort: Int { scheme == "https" ? 443 : 80 }

    /// `host[:port]` as the `Host` header carries it: the port only when it is not the default.
    var hostHeader: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        if let port, port != defaultPort { return "\(shownHost):\(port)" }
        return shownHost
    }

    /// `scheme://host[:port]`.
    var origin: String { "\(scheme)://\(hostHeader)" }

    var description: String {
        origin + percentEncodedPath + (percentEncodedQuery.map { "?\($0)" } ?? "")
    }

    func sameOrigin(as other: WebAddress) -> Bool {
        scheme == other.scheme && host == other.host && (port ?? defaultPort) == (other.port ?? other.defaultPort)
    }

    /// The URL with `path` (percent-encoded, starting with `/`) in place of its own path.
    func replacingPath(_ path: String, query: String? = nil) -> WebAddress {
        WebAddress(scheme: scheme, host: host, port: port, percentEncodedPath: path, percentEncodedQuery: query)
    }
}

/// RFC 3986 percent-encoding as SigV4 defines it: only `A-Z a-z 0-9 - . _ ~` stay as they are.
enum PercentEncoding {
    static func encode(_ text: String, keepingSlashes: Bool) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepingSlashes && byte == UInt8(ascii: "/")) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result.append("%")
                result.append(hexDigit(byte >> 4))
                result.append(hexDigit(byte & 0x0F))
            }
        }
        return result
    }

    /// Decodes `%XX` sequences; nil when a sequence is malformed or the bytes are not UTF-8.
    static func decode(_ text: String) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(Hex.value), let low = iterator.next().flatMap(Hex.value) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
    }

    private static func hexDigit(_ value: UInt8) -> Character {
        Character(Unicode.Scalar(value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10))
    }
}
