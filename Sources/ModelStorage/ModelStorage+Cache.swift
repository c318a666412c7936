import MeshCore

/// The steps every download shares: look in the cache, make room, stage, check, publish.
extension ModelStorage {
    /// What a finished download put into staging.
    struct Staged: Sendable {
        let bytes: Int64
        let fileCount: Int
        let etag: String?
        let lastModified: String?
        /// Known only after the response arrived, for HTTP.
        let version: String
    }

    /// The cached copy of `identity` at `version`, now marked as used by `model`.
    func cacheHit(identity: String, version: String, for model: ModelID, storageType: String) async throws(StorageError) -> FetchedModel? {
        guard let entry = state.withLock({ state -> CacheEntry? in
            guard let entry = state.index.entry(identity: identity, version: version) else { return nil }
            return state.index.use(entry.id, by: model)
        }) else { return nil }
        let disk = self.disk
        // One trip to the file thread pool: check the files are there, and record the use.
        let present = try await DiskCache.run { () -> Bool in
            guard disk.exists(entry) else { return false }
            disk.touch(entry)
            return true
        }
        guard present else {
            // Someone deleted files under the cache: forget the entry and download again.
            logger.warning("a cached model's files are missing; downloading it again", metadata: ["source": "\(entry.source)"])
            state.withLock { state in
                state.index.release(model)
                state.index.remove(entry.id)
            }
            try await removeFromDisk([entry])
            return nil
        }
        state.withLock { $0.statistics.cacheHits += 1 }
        metrics.cacheHit(storageType: storageType)
        return fetchedModel(entry, fromCache: true, duration: .zero)
    }

    /// Stages a download with `fill`, publishes it into the cache and marks it used by `model`.
    /// Room for `expectedBytes` is made first; a download that turns out bigger makes more room
    /// before it is published. On any failure the staged files are deleted.
    func stageAndPublish(
        identity: String,
        contentName: String,
        isDirectory: Bool,
        expectedBytes: Int64,
        source: String,
        storageType: String,
        for model: ModelID,
        fill: (DiskCache.Staging, ByteBudget) async throws(StorageError) -> Staged
    ) async throws(StorageError) -> FetchedModel {
        let started = ContinuousClock.now
        var reserved: Int64 = 0
        try await reserve(expectedBytes, for: source)
        reserved = expectedBytes
        let disk = self.disk
        let staging: DiskCache.Staging
        do {
            staging = try await DiskCache.run { try disk.newStaging() }
        } catch {
            state.withLock { $0.index.cancelReservation(reserved) }
            throw error
        }
        do {
            let budget = ByteBudget(limit: limits.maxModelBytes, modelDescription: source)
            let staged = try await fill(staging, budget)
            if staged.bytes > reserved {
                try await reserve(staged.bytes - reserved, for: source)
                reserved = staged.bytes
            }
            let id = CacheIndex.entryID(identity: identity, version: staged.version)
            let entry = CacheEntry(
                id: id, directoryName: "\(id).\(staging.directoryNonce)", identity: identity, version: staged.version,
                bytes: staged.bytes, fileCount: staged.fileCount, contentName: contentName, isDirectory: isDirectory,
                etag: staged.etag, lastModified: staged.lastModified, source: source, lastUse: 0
            )
            try await DiskCache.run { try disk.publish(staging, entry: entry) }
            let duration = ContinuousClock.now - started
            let (used, delete) = state.withLock { state in
                state.statistics.downloads += 1
                state.statistics.downloadedBytes += staged.bytes
                return state.index.commit(entry, reserved: reserved, for: model)
            }
            metrics.downloaded(storageType: storageType, bytes: staged.bytes, duration: duration)
            try await removeFromDisk(delete)
            logger.info("model downloaded", metadata: [
                "model": "\(model)", "source": "\(source)", "bytes": "\(staged.bytes)", "files": "\(staged.fileCount)",
                "seconds": "\(duration)",
            ])
            return fetchedModel(used, fromCache: false, duration: duration)
        } catch {
            state.withLock { $0.index.cancelReservation(reserved) }
            try? await DiskCache.run { disk.discard(staging) }
            throw error
        }
    }

    /// Reserves cache space, deleting the evicted entries' files; refuses when the models in
    /// use leave too little room.
    func reserve(_ bytes: Int64, for source: String) async throws(StorageError) {
        let outcome = state.withLock { $0.index.reserve(bytes) }
        switch outcome {
        case .granted(let evicted):
            try await removeFromDisk(evicted)
        case .refused(let available):
            let capacity = limits.maxCacheBytes
            throw StorageError(.cacheFull, "\(source) needs \(bytes) bytes in the model cache, but only \(max(0, available)) of its \(capacity) bytes can be freed: the rest holds models in use. Unload models or raise the cache size.")
        }
    }

    func removeFromDisk(_ entries: [CacheEntry]) async throws(StorageError) {
        guard !entries.isEmpty else { return }
        let disk = self.disk
        try await DiskCache.run { disk.remove(entries) }
        state.withLock { $0.statistics.evictions += entries.count }
        metrics.evicted(count: entries.count)
        metrics.cacheSize(bytes: state.withLock { $0.index.usedBytes })
        for entry in entries {
            logger.debug("removed a model from the disk cache", metadata: ["source": "\(entry.source)", "bytes": "\(entry.bytes)"])
        }
    }

    func fetchedModel(_ entry: CacheEntry, fromCache: Bool, duration: Duration) -> FetchedModel {
        FetchedModel(
            path: disk.contentPath(entry), isDirectory: entry.isDirectory, byteCount: entry.bytes,
            fileCount: entry.fileCount, fromCache: fromCache, downloadDuration: duration,
            version: entry.version, source: entry.source, cacheEntryID: entry.id
        )
    }
}
