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
