/// A model's files on local disk, ready for a runtime to load.
public struct FetchedModel: Sendable, Hashable {
    /// The model file, or the directory holding the model's files.
    public let path: String
    public let isDirectory: Bool
    /// All files together.
    public let byteCount: Int64
    public let fileCount: Int
    /// True when the storage confirmed the version and the bytes came from the disk cache; false
    /// for downloads and for models read in place from a local volume.
    public let fromCache: Bool
    /// Time spent downloading; zero for cache hits and local volumes.
    public let downloadDuration: Duration
    /// The version the files are at (derived from the ETags), when the storage has one.
    public let version: String?
    /// The location, for status and logs (never credentials).
    public let source: String
    /// The cache entry the model's load keeps from eviction.
    let cacheEntryID: String?

    /// The one file with extension `fileExtension` (such as `onnx`), for runtimes that load a
    /// single file: the model itself, or the only such file inside its directory.
    public func singleFile(withExtension fileExtension: String) async throws(StorageError) -> String {
        try await ModelFiles.singleFile(withExtension: fileExtension, in: path)
    }
}

/// Counters since the storage was created, and the cache's current contents.
public struct StorageStatistics: Sendable, Hashable {
    /// Models downloaded (a directory model counts once).
    public var downloads: Int = 0
    public var downloadedBytes: Int64 = 0
    /// Fetches answered from the disk cache after the storage confirmed the version.
    public var cacheHits: Int = 0
    /// Fetches that read a local volume.
    public var localReads: Int = 0
    public var failures: Int = 0
    public var cachedModels: Int = 0
    public var cachedBytes: Int64 = 0
    /// Cache entries that some model's load is using, and that are therefore never evicted.
    public var entriesInUse: Int = 0
    public var evictions: Int = 0
}
