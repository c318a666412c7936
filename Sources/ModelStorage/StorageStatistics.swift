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
