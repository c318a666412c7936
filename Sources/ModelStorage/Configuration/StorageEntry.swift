import NIOSSL

/// An S3 access key pair. The secret never leaves this module: it is not public, not printed,
/// not dumped, and not part of any error.
public struct S3Credentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let accessKeyID: String
    let secretAccessKey: String

    public init(accessKeyID: String, secretAccessKey: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
    }

    public var description: String { "S3 credentials (redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// How bucket names go into S3 request URLs.
public enum S3Addressing: String, Sendable, Hashable {
    /// `https://endpoint/bucket/key`: works with any endpoint; the default for custom endpoints.
    case path
    /// `https://bucket.endpoint/key`: AWS's preferred form; needs DNS for every bucket.
    case virtualHosted = "virtual"
}

/// One `type: s3` entry of the storage-config.
public struct S3StorageEntry: Sendable, CustomStringConvertible, CustomReflectable {
    /// `endpoint_url`, or AWS's regional endpoint when the entry has none.
    let endpoint: WebAddress
    public internal(set) var region: String
    /// `bucket`, or the older `default_bucket`.
    public let bucket: String?
    public let addressing: S3Addressing
    /// Nil for anonymous access to public buckets.
    public let credentials: S3Credentials?
    /// Trust for a private CA from `certificate`, in addition to the system's roots.
    let tlsConfiguration: TLSConfiguration?

    public var endpointURL: String { endpoint.description }
    public var hasCustomCertificate: Bool { tlsConfiguration != nil }

    public var description: String {
        "s3 endpoint \(endpointURL), region \(region), bucket \(bucket ?? "(none)"), \(addressing.rawValue)-style"
            + (credentials == nil ? ", anonymous" : "") + (hasCustomCertificate ? ", custom CA" : "")
    }

    public var customMirror: Mirror { Mirror(self, children: ["summary": description], displayStyle: .struct) }
}

/// One `type: http` (or `https`) entry of the storage-config.
public struct HTTPStorageEntry: Sendable, CustomStringConvertible, CustomReflectable {
    /// `url`: keyed locations are resolved against it, and a URI location naming this entry must
    /// lie under it (so its headers only go where they were meant to go).
    let baseURL: WebAddress?
    /// Header values may be tokens: they are sent, never shown.
    let headers: [(name: String, value: String)]
    let tlsConfiguration: TLSConfiguration?

    public var baseURLString: String? { baseURL?.description }
    public var headerNames: [String] { headers.map(\.name) }

    public var description: String {
        "http base \(baseURLString ?? "(none)"), headers [\(headerNames.joined(separator: ", "))]"
            + (tlsConfiguration == nil ? "" : ", custom CA")
    }

    public var customMirror: Mirror { Mirror(self, children: ["summary": description], displayStyle: .struct) }
}

/// One parsed storage-config entry.
public enum StorageEntry: Sendable, CustomStringConvertible {
    case s3(S3StorageEntry)
    case http(HTTPStorageEntry)

    public var type: String {
        switch self {
        case .s3: return "s3"
        case .http: return "http"
        }
    }

    public var description: String {
        switch self {
        case .s3(let entry): return entry.description
        case .http(let entry): return entry.description
        }
    }
}

// MARK: - Parsing

extension StorageEntry {
    static let supportedTypes = ["s3", "http", "https"]

    /// Parses one entry; the failure text names fields, never their values.
    static func parse(_ json: JSONValue) -> Result<StorageEntry, FieldProblem> {
        guard case .object(let fields) = json else {
            return .failure(FieldProblem("must be a JSON object, found \(json.typeName)"))
        }
        do throws(FieldProblem) {
            let reader = FieldReader(fields: fields)
            guard let type = try reader.string("type")?.lowercased() else {
                return .failure(FieldProblem("has no \"type\"; use one of \(supportedTypes.joined(separator: ", "))"))
            }
            switch type {
            case "s3": return .success(.s3(try parseS3(reader)))
            case "http", "https": return .success(.http(try parseHTTP(reader)))
            default:
                return .failure(FieldProblem("has type '\(type)', which this mesh does not support; use one of \(supportedTypes.joined(separator: ", "))"))
            }
        } catch {
            return .failure(error)
        }
    }

    private static func parseS3(_ reader: FieldReader) throws(FieldProblem) -> S3StorageEntry {
        let region = try reader.string("region").flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1"
        guard region.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
            throw FieldProblem("field \"region\" must be a plain region name such as us-east-1")
        }
        let endpoint: WebAddress
        let isCustomEndpoint: Bool
        if let text = try reader.string("endpoint_url"), !text.isEmpty {
            switch WebAddress.parse(text) {
            case .success(let address):
                guard address.percentEncodedQuery == nil else {
                    throw FieldProblem("field \"endpoint_url\" must not have a query")
                }
                var path = address.percentEncodedPath
                while path.hasSuffix("/") { path.removeLast() }
                endpoint = address.replacingPath(path)
            case .failure(let failure):
                throw FieldProblem("field \"endpoint_url\" \(failure.problem)")
            }
            isCustomEndpoint = true
        } else {
            endpoint = WebAddress(scheme: "https", host: "s3.\(region).amazonaws.com", port: nil, percentEncodedPath: "")
            isCustomEndpoint = false
        }

        var bucket = try reader.string("bucket").flatMap { $0.isEmpty ? nil : $0 }
        if bucket == nil { bucket = try reader.string("default_bucket").flatMap { $0.isEmpty ? nil : $0 } }
        if let bucket, let problem = S3Naming.bucketProblem(bucket) {
            throw FieldProblem("field \"bucket\" \(problem)")
        }

        let addressing: S3Addressing
        switch try reader.string("addressing_style")?.lowercased() {
        case nil, "", "auto": addressing = isCustomEndpoint ? .path : .virtualHosted
        case "path": addressing = .path
        case "virtual", "virtual-hosted", "virtual_hosted": addressing = .virtualHosted
        default: throw FieldProblem("field \"addressing_style\" must be \"path\", \"virtual\" or \"auto\"")
        }

        let accessKey = try reader.string("access_key_id").flatMap { $0.isEmpty ? nil : $0 }
        let secret = try reader.string("secret_access_key").flatMap { $0.isEmpty ? nil : $0 }
        let credentials: S3Credentials?
        switch (accessKey, secret) {
        case (let id?, let secret?): credentials = S3Credentials(accessKeyID: id, secretAccessKey: secret)
        case (nil, nil): credentials = nil
        case (.some, nil): throw FieldProblem("has \"access_key_id\" but no \"secret_access_key\"")
        case (nil, .some): throw FieldProblem("has \"secret_access_key\" but no \"access_key_id\"")
        }

        return S3StorageEntry(
            endpoint: endpoint, region: region, bucket: bucket, addressing: addressing,
            credentials: credentials, tlsConfiguration: try tlsConfiguration(reader)
        )
    }

    private static func parseHTTP(_ reader: FieldReader) throws(FieldProblem) -> HTTPStorageEntry {
        var baseURL: WebAddress?
        if let text = try reader.string("url"), !text.isEmpty {
            switch WebAddress.parse(text) {
            case .success(let address): baseURL = address
            case .failure(let failure): throw FieldProblem("field \"url\" \(failure.problem)")
            }
        }
        var headers: [(name: String, value: String)] = []
        if let value = reader.fields["headers"] {
            guard case .object(let object) = value else {
                throw FieldProblem("field \"headers\" must be an object of header names to strings, found \(value.typeName)")
            }
            for name in object.keys.sorted() {
                guard HTTPHeaderRules.isValidName(name) else {
                    throw FieldProblem("field \"headers\" has an invalid header name")
                }
                let values: [String]
                switch object[name] {
                case .string(let single): values = [single]
                case .array(let list):
                    values = try list.map { element throws(FieldProblem) in
                        guard case .string(let text) = element else {
                            throw FieldProblem("header '\(name)' must be a string or a list of strings")
                        }
                        return text
                    }
                default: throw FieldProblem("header '\(name)' must be a string or a list of strings")
                }
                for value in values {
                    guard HTTPHeaderRules.isValidValue(value) else {
                        throw FieldProblem("header '\(name)' has a value with a line break or control character")
                    }
                    headers.append((name, value))
                }
            }
        }
        return HTTPStorageEntry(baseURL: baseURL, headers: headers, tlsConfiguration: try tlsConfiguration(reader))
    }

    private static func tlsConfiguration(_ reader: FieldReader) throws(FieldProblem) -> TLSConfiguration? {
        guard let pem = try reader.string("certificate"), !pem.isEmpty else { return nil }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8))
        } catch {
            throw FieldProblem("field \"certificate\" is not a PEM certificate")
        }
        guard !certificates.isEmpty else { throw FieldProblem("field \"certificate\" holds no PEM certificate") }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.certificates(certificates)]
        return tls
    }
}

/// A field-level problem in an entry; the text never includes a field's value.
struct FieldProblem: Error {
    let problem: String
    init(_ problem: String) { self.problem = problem }
}

private struct FieldReader {
    let fields: [String: JSONValue]

    func string(_ name: String) throws(FieldProblem) -> String? {
        switch fields[name] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?: throw FieldProblem("field \"\(name)\" must be a string, found \(other.typeName)")
        }
    }
}

enum HTTPHeaderRules {
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            byte > 0x20 && byte < 0x7F && !"()<>@,;:\\\"/[]?={}".utf8.contains(byte)
        }
    }

    static func isValidValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }
    }
}

/// S3's bucket naming rules, as far as they matter for building safe URLs.
enum S3Naming {
    static func bucketProblem(_ bucket: String) -> String? {
        let bytes = bucket.utf8
        guard bytes.count >= 3, bytes.count <= 63 else { return "must be 3 to 63 characters long" }
        let allowed = bytes.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
        }
        guard allowed else { return "may contain only lowercase letters, digits, '-', '.' and '_'" }
        if bucket.contains("..") { return "must not contain '..'" }
        return nil
    }

    /// Whether a bucket can be a DNS label in front of the endpoint's host.
    static func isVirtualHostable(_ bucket: String, overTLS: Bool) -> Bool {
        guard bucketProblem(bucket) == nil, !bucket.contains("_") else { return false }
        // A dotted bucket breaks the wildcard certificate of the endpoint.
        return !(overTLS && bucket.contains("."))
    }
}
