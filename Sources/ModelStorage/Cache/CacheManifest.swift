/// `manifest.json` of a cache entry: written last, inside the staging directory, so an entry
/// directory with a readable manifest is complete by construction.
struct CacheManifest: Codable, Sendable {
    static let currentFormat = 1

    var format: Int = CacheManifest.currentFormat
    var identity: String
    var version: String
    var contentName: String
    var isDirectory: Bool
    var bytes: Int64
    var fileCount: Int
    var etag: String?
    var lastModified: String?
    /// Where it came from, for people reading the cache directory (no credentials).
    var source: String
    var createdAt: Double

    init(_ entry: CacheEntry, createdAt: Double) {
        identity = entry.identity
        version = entry.version
        contentName = entry.contentName
        isDirectory = entry.isDirectory
        bytes = entry.bytes
        fileCount = entry.fileCount
        etag = entry.etag
        lastModified = entry.lastModified
        source = entry.source
        self.createdAt = createdAt
    }

    /// The index entry this manifest describes (its last use is set when the index takes it).
    func entry(directoryName: String) -> CacheEntry {
        CacheEntry(
            id: CacheIndex.entryID(identity: identity, version: version), directoryName: directoryName,
            identity: identity, version: version, bytes: bytes, fileCount: fileCount,
            contentName: contentName, isDirectory: isDirectory, etag: etag, lastModified: lastModified,
            source: source, lastUse: 0
        )
    }
}
