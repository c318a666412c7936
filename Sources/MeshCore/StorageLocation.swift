/// Where a model's files live, in either of the two forms users already write.
///
/// JSON: `{"uri": "s3://models/iris"}` (optionally with `"key"` naming the storage-config entry
/// that holds the credentials), or ModelMesh's form
/// `{"key": "localMinIO", "path": "sklearn/iris.onnx", "parameters": {"bucket": "models"}}`,
/// where the storage-config entry's `type` decides between S3 and HTTP. A keyed location without
/// `key` uses the entry `default_<type>` or `default`, as ModelMesh does.
///
/// This type only holds and checks the text. Turning it into requests and local paths happens in
/// `ModelStorage`, which also applies the storage-config and the peer's limits.
public enum StorageLocation: Hashable, Sendable {
    /// `s3://bucket/path`, `https://host/path/model.onnx`, `http://…`, `file:///models/x`, or a path
    /// relative to the peer's local model root (a PVC mount, for example).
    case uri(String, key: String? = nil)
    /// A storage-config key, a path inside that storage, and per-model parameters such as `bucket`.
    case keyed(key: String?, path: String, parameters: [String: String] = [:])

    public static let maxLength = 2048
    public static let maxKeyLength = 253

    /// Why a location was refused, phrased for the person who registered the model.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case empty(field: String)
        case tooLong(field: String, length: Int, limit: Int)
        case controlCharacter(field: String, offset: Int)
        case dotSegment(field: String, segment: String)
        case emptySegment(field: String)
        case absolutePath(field: String)
        case credentialsInURI
        case badStorageKey(String, reason: String)
        case badParameterName(String)

        public var description: String {
            switch self {
            case .empty(let field):
                return "\(field) must not be empty"
            case .tooLong(let field, let length, let limit):
                return "\(field) is \(length) characters long; the limit is \(limit)"
            case .controlCharacter(let field, let offset):
                return "\(field) contains a control character at offset \(offset); remove it"
            case .dotSegment(let field, let segment):
                return "\(field) contains a '\(segment)' segment; storage paths must name the model directly and may not climb out of their storage"
            case .emptySegment(let field):
                return "\(field) contains an empty segment ('//'); write each '/' once"
            case .absolutePath(let field):
                return "\(field) starts with '/'; in the keyed form the path is relative to the storage (bucket or base URL), so drop the leading '/'"
            case .credentialsInURI:
                return "uri carries credentials (user:password@host); put them in a storage-config entry and name it with \"key\""
            case .badStorageKey(let key, let reason):
                return "storage key '\(key)' \(reason)"
            case .badParameterName(let name):
                return "parameter name '\(name)' is not allowed; use letters, digits, '_', '-' and '.'"
            }
        }
    }

    /// The storage-config key this location names, if any.
    public var storageKey: String? {
        switch self {
        case .uri(_, let key): return key
        case .keyed(let key, _, _): return key
        }
    }

    /// Checks the text of the location without touching any storage.
    public func validate() throws(Problem) {
        switch self {
        case .uri(let uri, let key):
            try Self.checkText(uri, field: "uri")
            if Self.hasUserInfo(uri) { throw .credentialsInURI }
            try Self.checkSegments(Self.pathPart(ofURI: uri), field: "uri", decodingPercentDots: true)
            if let key { try Self.checkStorageKey(key) }
        case .keyed(let key, let path, let parameters):
            if let key { try Self.checkStorageKey(key) }
            try Self.checkText(path, field: "path")
            if path.utf8.first == UInt8(ascii: "/") { throw .absolutePath(field: "path") }
            try Self.checkSegments(Substring(path), field: "path", decodingPercentDots: false)
            for (name, value) in parameters {
                guard !name.isEmpty, name.utf8.count <= 64, name.utf8.allSatisfy(Self.isParameterNameByte) else {
                    throw .badParameterName(Self.printable(name))
                }
                try Self.checkText(value, field: "parameter '\(name)'")
            }
        }
    }

    // MARK: - Checks

    private static func checkText(_ text: String, field: String) throws(Problem) {
        let bytes = text.utf8
        if bytes.isEmpty { throw .empty(field: field) }
        // Counted in Unicode scalars, as JSON Schema's maxLength counts them (docs/openapi.yaml).
        let length = text.unicodeScalars.count
        if length > maxLength { throw .tooLong(field: field, length: length, limit: maxLength) }
        for (offset, byte) in bytes.enumerated() where byte < 0x20 || byte == 0x7F {
            throw .controlCharacter(field: field, offset: offset)
        }
    }

    /// Refuses `.` and `..` (also percent-encoded, for URIs) and `//`; one trailing `/` is allowed
    /// because it marks a directory.
    private static func checkSegments(_ path: Substring, field: String, decodingPercentDots: Bool) throws(Problem) {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false)
        if segments.first?.isEmpty == true { segments.removeFirst() }
        if segments.last?.isEmpty == true { segments.removeLast() }
        for segment in segments {
            if segment.isEmpty { throw .emptySegment(field: field) }
            let normalized = decodingPercentDots ? decodeDots(segment) : String(segment)
            if normalized == "." || normalized == ".." { throw .dotSegment(field: field, segment: normalized) }
        }
    }

    /// Checks a storage-config entry's name (the storage key) alone.
    public static func checkStorageKey(_ key: String) throws(Problem) {
        let bytes = key.utf8
        guard let first = bytes.first else { throw .empty(field: "storage key") }
        if bytes.count > maxKeyLength {
            throw .badStorageKey(printable(key), reason: "is longer than \(maxKeyLength) bytes")
        }
        if first == UInt8(ascii: ".") {
            throw .badStorageKey(printable(key), reason: "must not start with '.'")
        }
        guard bytes.allSatisfy(isParameterNameByte) else {
            throw .badStorageKey(printable(key), reason: "may contain only letters, digits, '_', '-' and '.' (it is a file name in the storage-config Secret)")
        }
    }

    private static func isParameterNameByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    // MARK: - Pure text helpers

    /// The part of a URI after `scheme://authority`, without query and fragment; the whole text
    /// for a relative path.
    static func pathPart(ofURI uri: String) -> Substring {
        var rest = Substring(uri)
        if let schemeEnd = rest.firstRange(of: "://") {
            rest = rest[schemeEnd.upperBound...]
            if let slash = rest.firstIndex(of: "/") { rest = rest[slash...] } else { rest = "" }
        } else if rest.hasPrefix("file:") {
            rest = rest.dropFirst("file:".count)
        }
        if let end = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        return rest
    }

    /// Whether `scheme://user[:password]@host` carries credentials.
    static func hasUserInfo(_ uri: String) -> Bool {
        guard let schemeEnd = uri.firstRange(of: "://") else { return false }
        let afterScheme = uri[schemeEnd.upperBound...]
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return authority.contains("@")
    }

    /// `%2e` and `%2E` decoded, so that `%2e%2e` counts as `..`.
    private static func decodeDots(_ segment: Substring) -> String {
        var result = ""
        var rest = segment
        while !rest.isEmpty {
            if rest.count >= 3, rest.hasPrefix("%"), rest.dropFirst().prefix(2).lowercased() == "2e" {
                result.append(".")
                rest = rest.dropFirst(3)
            } else {
                result.append(rest.removeFirst())
            }
        }
        return result
    }

    /// `text` with control characters replaced, for echoing back in an error.
    static func printable(_ text: String) -> String {
        let limited = text.utf8.count > 256 ? String(text.prefix(256)) + "…" : text
        return String(String.UnicodeScalarView(limited.unicodeScalars.map { scalar in
            scalar.value < 0x20 || scalar.value == 0x7F ? "?" : scalar
        }))
    }
}

// MARK: - Display

extension StorageLocation: CustomStringConvertible {
    /// A one-line rendering for status and errors; any `user:password@` in a URI is masked.
    public var description: String {
        switch self {
        case .uri(let uri, let key):
            let shown = Self.printable(Self.maskingUserInfo(uri))
            return key.map { "\(shown) (storage key '\(Self.printable($0))')" } ?? shown
        case .keyed(let key, let path, let parameters):
            var parts = ["storage key '\(Self.printable(key ?? "default"))'", "path '\(Self.printable(path))'"]
            for name in parameters.keys.sorted() {
                parts.append("\(Self.printable(name))=\(Self.printable(parameters[name] ?? ""))")
            }
            return parts.joined(separator: ", ")
        }
    }

    /// The same one-line rendering, for status and error texts.
    public var displayText: String { description }

    static func maskingUserInfo(_ uri: String) -> String {
        guard hasUserInfo(uri), let schemeEnd = uri.firstRange(of: "://"),
              let at = uri[schemeEnd.upperBound...].firstIndex(of: "@")
        else { return uri }
        return String(uri[..<schemeEnd.upperBound]) + "***" + String(uri[at...])
    }
}

// MARK: - JSON

extension StorageLocation: Codable {
    private enum CodingKeys: String, CodingKey {
        case uri, key, path, parameters
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let key = try container.decodeIfPresent(String.self, forKey: .key)
        let uri = try container.decodeIfPresent(String.self, forKey: .uri)
        let path = try container.decodeIfPresent(String.self, forKey: .path)
        let parameters = try container.decodeIfPresent([String: String].self, forKey: .parameters)
        switch (uri, path) {
        case (let uri?, nil):
            if parameters != nil {
                throw DecodingError.dataCorruptedError(
                    forKey: .parameters, in: container,
                    debugDescription: "\"parameters\" belong to the keyed form; with \"uri\" put the bucket in the URI"
                )
            }
            self = .uri(uri, key: key)
        case (nil, let path?):
            self = .keyed(key: key, path: path, parameters: parameters ?? [:])
        case (.some, .some):
            throw DecodingError.dataCorruptedError(
                forKey: .path, in: container,
                debugDescription: "a storage location has either \"uri\" or \"path\", not both"
            )
        case (nil, nil):
            throw DecodingError.keyNotFound(CodingKeys.uri, DecodingError.Context(
                codingPath: container.codingPath,
                debugDescription: "a storage location needs \"uri\", or \"path\" with an optional \"key\" and \"parameters\""
            ))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .uri(let uri, let key):
            try container.encode(uri, forKey: .uri)
            try container.encodeIfPresent(key, forKey: .key)
        case .keyed(let key, let path, let parameters):
            try container.encodeIfPresent(key, forKey: .key)
            try container.encode(path, forKey: .path)
            if !parameters.isEmpty { try container.encode(parameters, forKey: .parameters) }
        }
    }
}
