import Crypto
import MeshCore

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`) over a request's method, path, query, headers and
/// payload hash. Pure: the same inputs always give the same signature, so AWS's published test
/// vectors check it exactly.
struct SigV4Signer: Sendable {
    let credentials: S3Credentials
    let region: String
    let service: String

    /// Every step's output, so that tests can compare each one with the published vectors.
    struct Signature: Sendable {
        let canonicalRequest: String
        let stringToSign: String
        let signature: String
        let signedHeaders: String
        let authorization: String
    }

    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// - Parameters:
    ///   - canonicalURI: the request path, already percent-encoded the way it is sent.
    ///   - query: unencoded names and values; they are encoded and sorted here.
    ///   - headers: every header to sign, including `host` and `x-amz-date`.
    func sign(
        method: String,
        canonicalURI: String,
        query: [(name: String, value: String)],
        headers: [(name: String, value: String)],
        payloadHash: String,
        date: AmzDate
    ) -> Signature {
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let canonicalRequest = [
            method,
            canonicalURI.isEmpty ? "/" : canonicalURI,
            Self.canonicalQuery(query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        let scope = "\(date.day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256",
            date.stamp,
            scope,
            Hex.sha256(canonicalRequest),
        ].joined(separator: "\n")
        let signature = Hex.string(HMAC<SHA256>.authenticationCode(
            for: Array(stringToSign.utf8), using: signingKey(day: date.day)
        ))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign,
            signature: signature, signedHeaders: signedHeaders, authorization: authorization
        )
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request").
    private func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    /// Lowercased names, trimmed values with inner runs of spaces collapsed, sorted by name,
    /// repeated names joined with commas.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (canonical: String, signed: String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            merged[name.lowercased(), default: []].append(normalizeHeaderValue(value))
        }
        let names = merged.keys.sorted()
        let canonical = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        return (canonical, names.joined(separator: ";"))
    }

    static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        query
            .map { (PercentEncoding.encode($0.name, keepingSlashes: false), PercentEncoding.encode($0.value, keepingSlashes: false)) }
            .sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    private static func normalizeHeaderValue(_ value: String) -> String {
        var result = ""
        var pendingSpace = false
        for character in value.trimmingSpaces() {
            if character == " " || character == "\t" {
                pendingSpace = true
            } else {
                if pendingSpace { result.append(" ") }
                pendingSpace = false
                result.append(character)
            }
        }
        return result
    }
}

private extension String {
    func trimmingSpaces() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return self[start...end]
    }
}

/// The `X-Amz-Date` stamp (`20150830T123600Z`) and its day, computed from Unix time in UTC.
struct AmzDate: Sendable, Equatable {
    let stamp: String
    let day: String

    init(secondsSince1970 seconds: Int64) {
        // `2015-08-30T12:36:00.000Z` without its separators and fraction.
        let digits = String(MeshTime(millisecondsSinceEpoch: seconds * 1000).iso8601.prefix(19).filter { $0 != "-" && $0 != ":" })
        self.stamp = digits + "Z"
        self.day = String(digits.prefix(8))
    }
}
