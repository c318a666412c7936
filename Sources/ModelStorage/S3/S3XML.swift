/// The few XML documents S3 sends us (`ListBucketResult`, `Error`, IAM-style results), read
/// without a general XML parser: they are flat, machine-written, and only leaf text is needed.
enum S3XML {
    /// The inner text of each `<name>…</name>` element, in order; elements must not nest in themselves.
    static func elements(_ name: String, in xml: Substring) -> [Substring] {
        let open = "<\(name)>"
        let close = "</\(name)>"
        var results: [Substring] = []
        var rest = xml
        while let start = rest.firstRange(of: open) {
            let afterOpen = rest[start.upperBound...]
            guard let end = afterOpen.firstRange(of: close) else { break }
            results.append(afterOpen[..<end.lowerBound])
            rest = afterOpen[end.upperBound...]
        }
        return results
    }

    /// The decoded text of the first `<name>` element.
    static func value(_ name: String, in xml: Substring) -> String? {
        elements(name, in: xml).first.map { decodeEntities($0) }
    }

    /// Replaces the five predefined entities and numeric character references.
    static func decodeEntities(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var result = ""
        var rest = text
        while let ampersand = rest.firstIndex(of: "&") {
            result += rest[..<ampersand]
            let afterAmpersand = rest[rest.index(after: ampersand)...]
            guard let semicolon = afterAmpersand.firstIndex(of: ";"), afterAmpersand.distance(from: afterAmpersand.startIndex, to: semicolon) <= 10 else {
                result.append("&")
                rest = afterAmpersand
                continue
            }
            let entity = afterAmpersand[..<semicolon]
            if let replacement = replacement(for: entity) {
                result.append(replacement)
            } else {
                result += "&\(entity);"
            }
            rest = afterAmpersand[afterAmpersand.index(after: semicolon)...]
        }
        return result + rest
    }

    private static func replacement(for entity: Substring) -> Character? {
        switch entity {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        default:
            let number: UInt32?
            if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                number = UInt32(entity.dropFirst(2), radix: 16)
            } else if entity.hasPrefix("#") {
                number = UInt32(entity.dropFirst(), radix: 10)
            } else {
                number = nil
            }
            return number.flatMap(Unicode.Scalar.init).map(Character.init)
        }
    }
}

/// One object of a listing.
struct S3ObjectSummary: Sendable, Hashable {
    let key: String
    /// Without the surrounding quotes.
    let etag: String
    let size: Int64
}

/// One page of `ListObjectsV2`.
struct S3ListPage: Sendable {
    let objects: [S3ObjectSummary]
    let nextContinuationToken: String?

    /// Parses a page requested with `encoding-type=url`, so keys arrive percent-encoded.
    static func parse(_ xml: String) -> S3ListPage? {
        let document = Substring(xml)
        guard document.contains("<ListBucketResult") else { return nil }
        let urlEncoded = S3XML.value("EncodingType", in: document) == "url"
        var objects: [S3ObjectSummary] = []
        for contents in S3XML.elements("Contents", in: document) {
            guard let rawKey = S3XML.value("Key", in: contents),
                  let key = urlEncoded ? PercentEncoding.decode(rawKey.replacingPlusWithSpace()) : rawKey,
                  let size = S3XML.value("Size", in: contents).flatMap({ Int64($0) })
            else { return nil }
            let etag = S3XML.value("ETag", in: contents).map(ETag.unquoted) ?? ""
            objects.append(S3ObjectSummary(key: key, etag: etag, size: size))
        }
        let truncated = S3XML.value("IsTruncated", in: document) == "true"
        let token = truncated ? S3XML.value("NextContinuationToken", in: document) : nil
        return S3ListPage(objects: objects, nextContinuationToken: token)
    }
}

/// S3's `<Error>` document.
struct S3ErrorBody: Sendable {
    let code: String?
    let message: String?

    static func parse(_ xml: String) -> S3ErrorBody {
        let document = Substring(xml)
        return S3ErrorBody(code: S3XML.value("Code", in: document), message: S3XML.value("Message", in: document))
    }
}

enum ETag {
    /// `"abc"` and `W/"abc"` → `abc`.
    static func unquoted(_ raw: String) -> String {
        var text = Substring(raw)
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = text.dropFirst().dropLast() }
        return String(text)
    }

    /// The MD5 of the object when the ETag is a single-part upload's (32 hex digits, no `-`).
    static func md5(ofSinglePart etag: String) -> [UInt8]? {
        let bytes = Array(etag.utf8)
        guard bytes.count == 32 else { return nil }
        var digest: [UInt8] = []
        digest.reserveCapacity(16)
        var index = 0
        while index < 32 {
            guard let high = Hex.value(bytes[index]), let low = Hex.value(bytes[index + 1]) else { return nil }
            digest.append(high << 4 | low)
            index += 2
        }
        return digest
    }
}

private extension String {
    /// S3's `encoding-type=url` writes spaces as `+` (form encoding) and `+` as `%2B`.
    func replacingPlusWithSpace() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0 == "+" ? " " : $0 }))
    }
}
