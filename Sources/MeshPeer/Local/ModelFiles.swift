import MeshCore
import ModelStorage

/// A model's files on local disk, and how they got there.
public struct ModelFilesOnDisk: Sendable {
    public var path: String
    public var byteCount: Int64
    public var fromCache: Bool
    public var downloadDuration: Duration
}

/// Turns a model's storage location into files on local disk for a runtime to load.
public protocol ModelFileProvider: Sendable {
    func files(for model: ModelID, at location: StorageLocation?) async throws -> ModelFilesOnDisk
    /// The model left this peer: its files may be evicted from the disk cache.
    func release(_ model: ModelID)
}

/// Files from S3, HTTP or mounted volumes through ``ModelStorage`` and its disk cache.
public struct StoredModelFiles: ModelFileProvider {
    public let storage: ModelStorage

    public init(storage: ModelStorage) {
        self.storage = storage
    }

    public func files(for model: ModelID, at location: StorageLocation?) async throws -> ModelFilesOnDisk {
        guard let location else { throw MeshError.failedPrecondition("\(model) has no storage location") }
        let fetched = try await storage.fetch(location, for: model)
        return ModelFilesOnDisk(path: fetched.path, byteCount: fetched.byteCount, fromCache: fetched.fromCache,
                                downloadDuration: fetched.downloadDuration)
    }

    public func release(_ model: ModelID) {
        storage.release(model)
    }
}
