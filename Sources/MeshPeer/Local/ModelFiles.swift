import Foundation
import MeshCore

/// Turns a model's storage location into files on local disk for a runtime to load.
public protocol ModelFileProvider: Sendable {
    /// A local file or directory with the model's files.
    func files(for model: ModelID, at location: StorageLocation?) async throws -> String
}

/// Models on a local or mounted file system: `file:///abs/path`, or a path relative to a root
/// (a PVC mount). Paths can never leave the root.
public struct LocalModelFiles: ModelFileProvider {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public func files(for model: ModelID, at location: StorageLocation?) async throws -> String {
        guard let location else { throw StorageFailure("\(model) has no storage location") }
        switch location {
        case .keyed(let key, _, _):
            throw StorageFailure("storage key \"\(key)\" is not configured on this peer")
        case .uri(let uri):
            let path: String
            if uri.hasPrefix("file://") {
                path = String(uri.dropFirst("file://".count))
            } else if uri.contains("://") {
                let scheme = uri.prefix { $0 != ":" }
                throw StorageFailure("storage scheme \"\(scheme)\" is not configured on this peer")
            } else if uri.hasPrefix("/") {
                path = uri
            } else {
                guard !uri.split(separator: "/").contains("..") else { throw StorageFailure("storage path \(uri) must not contain '..'") }
                path = root + "/" + uri
            }
            let resolved = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
            guard FileManager.default.fileExists(atPath: resolved) else {
                throw StorageFailure("model files not found at \(path)")
            }
            return resolved
        }
    }
}

/// A storage problem, as the user sees it in the load error.
public struct StorageFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
