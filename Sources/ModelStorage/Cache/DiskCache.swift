import Foundation
import Logging
import NIOPosix

/// The cache directory on disk:
///
///     <root>/entries/<id>.<nonce>/manifest.json    one complete model per entry
///     <root>/entries/<id>.<nonce>/content/<name>   the model's file, or its directory
///     <root>/staging/<random>/…                    downloads in progress, evictions in flight
///
/// A download is written under `staging`, checked, given its manifest, and renamed into
/// `entries` in one step, so `entries` never holds a partial model. Whatever is left in
/// `staging` after a crash is deleted at start-up.
struct DiskCache: Sendable {
    let root: String
    let logger: Logger

    var entriesDirectory: String { "\(root)/entries" }
    var stagingDirectory: String { "\(root)/staging" }

    func entryDirectory(_ entry: CacheEntry) -> String { "\(entriesDirectory)/\(entry.directoryName)" }

    func contentPath(_ entry: CacheEntry) -> String { "\(entryDirectory(entry))/content/\(entry.contentName)" }

    struct Staging: Sendable {
        let path: String
        /// The entry directory's name once published.
        let directoryNonce: String
        var contentDirectory: String { "\(path)/content" }
    }

    // MARK: - Blocking operations (run through `run`)

    /// Creates the layout, deletes leftovers, and returns the complete entries, least recently
    /// used first.
    func recover() throws(StorageError) -> [CacheEntry] {
        try BlockingFiles.makeDirectories(entriesDirectory)
        try BlockingFiles.makeDirectories(stagingDirectory)
        for leftover in try BlockingFiles.listDirectory(stagingDirectory, what: "cache staging directory") {
            logger.info("removing an interrupted download from the model cache", metadata: ["path": "\(stagingDirectory)/\(leftover)"])
            BlockingFiles.removeTree("\(stagingDirectory)/\(leftover)")
        }
        var found: [String: (entry: CacheEntry, used: Double)] = [:]
        for name in try BlockingFiles.listDirectory(entriesDirectory, what: "cache entries directory") {
            let directory = "\(entriesDirectory)/\(name)"
            guard let manifest = readManifest(directory),
                  manifest.format == CacheManifest.currentFormat,
                  case let entry = manifest.entry(directoryName: name),
                  name.hasPrefix(entry.id + "."),
                  exists(entry)
            else {
                logger.warning("removing an unreadable model cache entry", metadata: ["path": "\(directory)"])
                BlockingFiles.removeTree(directory)
                continue
            }
            let used = BlockingFiles.modificationTime("\(directory)/manifest.json") ?? 0
            // Two copies of one version (a crash between publishing and deleting): keep the newer.
            if let other = found[entry.id] {
                let older = other.used <= used ? other.entry : entry
                BlockingFiles.removeTree(entryDirectory(older))
                if older.directoryName == entry.directoryName { continue }
            }
            found[entry.id] = (entry, used)
        }
        return found.values.sorted { $0.used < $1.used }.map(\.entry)
    }

    func newStaging() throws(StorageError) -> Staging {
        let nonce = UUID().uuidString.lowercased()
        let staging = Staging(path: "\(stagingDirectory)/\(nonce)", directoryNonce: String(nonce.prefix(8)))
        try BlockingFiles.makeDirectories(staging.contentDirectory)
        return staging
    }

    /// Writes the manifest and renames the staging directory into place.
    func publish(_ staging: Staging, entry: CacheEntry) throws(StorageError) {
        let manifest = CacheManifest(entry, createdAt: Date().timeIntervalSince1970)
        let bytes: [UInt8]
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            bytes = Array(try encoder.encode(manifest))
        } catch {
            throw StorageError(.localIO, "encoding the cache manifest failed: \(error)")
        }
        try BlockingFiles.writeFile("\(staging.path)/manifest.json", bytes: bytes)
        let destination = entryDirectory(entry)
        if let code = BlockingFiles.move(staging.path, to: destination) {
            BlockingFiles.removeTree(staging.path)
            throw StorageError(.localIO, "publishing \(destination) in the model cache failed: \(BlockingFiles.errnoText(code))")
        }
        BlockingFiles.syncDirectory(entriesDirectory)
    }

    /// Moves entries out of `entries` first (one rename each), then deletes them, so a crash
    /// half-way leaves only `staging` leftovers.
    func remove(_ entries: [CacheEntry]) {
        for entry in entries {
            let doomed = "\(stagingDirectory)/evicted-\(entry.directoryName)"
            if BlockingFiles.move(entryDirectory(entry), to: doomed) == nil {
                BlockingFiles.removeTree(doomed)
            } else {
                BlockingFiles.removeTree(entryDirectory(entry))
            }
        }
    }

    func discard(_ staging: Staging) {
        BlockingFiles.removeTree(staging.path)
    }

    /// Records a use on disk, so the LRU order survives a restart.
    func touch(_ entry: CacheEntry) {
        BlockingFiles.touch("\(entryDirectory(entry))/manifest.json")
    }

    func exists(_ entry: CacheEntry) -> Bool {
        BlockingFiles.kind(contentPath(entry), followingSymlinks: false) == (entry.isDirectory ? .directory : .file)
    }

    private func readManifest(_ directory: String) -> CacheManifest? {
        guard let bytes = try? BlockingFiles.readFile("\(directory)/manifest.json", maxBytes: 1 << 20, what: "cache manifest") else {
            return nil
        }
        return try? JSONDecoder().decode(CacheManifest.self, from: Data(bytes))
    }

    // MARK: - Off the cooperative pool

    /// Runs blocking file work on NIO's thread pool.
    static func run<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws(StorageError) -> Result {
        do {
            return try await NIOThreadPool.singleton.runIfActive(work)
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.localIO, "model cache file operation failed: \(error)")
        }
    }
}
