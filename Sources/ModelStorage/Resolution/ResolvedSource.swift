/// A location with its storage-config entry applied: everything needed to reach the bytes.
enum ResolvedSource: Sendable {
    case s3(S3Source)
    case http(HTTPSource)
    case local(LocalSource)

    /// What concurrent fetches share a download on: the same location through the same storage
    /// key, so one caller's access never stands in for another's.
    var flightKey: String {
        switch self {
        case .s3(let source): return "s3\n\(source.storageKey)\n\(source.entry.endpointURL)\n\(source.bucket)\n\(source.path)"
        case .http(let source): return "http\n\(source.storageKey ?? "")\n\(source.url)"
        case .local(let source): return "local\n\(source.absolutePath)"
        }
    }
}

struct S3Source: Sendable {
    let storageKey: String
    let entry: S3StorageEntry
    let bucket: String
    /// An object key, or a prefix for a directory model.
    let path: String

    var displayName: String { "s3://\(bucket)/\(path)" }
}

struct HTTPSource: Sendable {
    let storageKey: String?
    let url: WebAddress
    let headers: [(name: String, value: String)]
    let entry: HTTPStorageEntry?
}

struct LocalSource: Sendable {
    /// The configured root the path lies under, as configured.
    let root: String
    /// Relative to `root`; checked for `..` already.
    let relativePath: String

    var absolutePath: String { relativePath.isEmpty ? root : "\(root)/\(relativePath)" }
}
