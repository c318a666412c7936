import MeshCore

extension ModelStorage {
    /// Lists the location, answers from the cache when the listing matches a cached version,
    /// and downloads the objects otherwise. An object that changes during the download makes
    /// the whole model start over from a fresh listing (once).
    func fetchFromS3(_ source: S3Source, for model: ModelID) async throws(StorageError) -> FetchedModel {
        let client = S3Client(
            entry: source.entry, storageKey: source.storageKey, httpClient: httpClient,
            requestTimeout: limits.requestTimeout, retry: limits.retry, logger: logger
        )
        var restartsLeft = 1
        while true {
            do throws(StorageError) {
                let plan = try await S3ModelPlan.discover(source, client: client, maxFiles: limits.maxFilesPerModel)
                if let hit = try await cacheHit(identity: plan.cacheIdentity, version: plan.version, for: model, storageType: "s3") {
                    return hit
                }
                return try await download(plan, client: client, for: model)
            } catch where error.reason == .changedDuringDownload && restartsLeft > 0 {
                restartsLeft -= 1
                logger.notice("an S3 object changed during the download; starting over", metadata: ["source": "\(source.displayName)"])
            }
        }
    }

    private func download(_ plan: S3ModelPlan, client: S3Client, for model: ModelID) async throws(StorageError) -> FetchedModel {
        let source = plan.source.displayName
        if plan.totalBytes > limits.maxModelBytes {
            throw ByteBudget.tooLarge(source, limit: limits.maxModelBytes, seen: plan.totalBytes)
        }
        let limits = self.limits
        let logger = self.logger
        return try await stageAndPublish(
            identity: plan.cacheIdentity, contentName: plan.contentName, isDirectory: plan.isDirectory,
            expectedBytes: plan.totalBytes, source: source, storageType: "s3", for: model
        ) { staging, budget throws(StorageError) in
            let root = "\(staging.contentDirectory)/\(plan.contentName)"
            if plan.isDirectory {
                let directories = Set(plan.files.compactMap { file in
                    file.relativePath.lastIndex(of: "/").map { "\(root)/\(file.relativePath[..<$0])" }
                })
                try await DiskCache.run {
                    try BlockingFiles.makeDirectories(root)
                    for directory in directories { try BlockingFiles.makeDirectories(directory) }
                }
            }
            try await ParallelDownloads.run(plan.files, concurrency: limits.downloadConcurrency) { file throws(StorageError) in
                let download = ResumableDownload(
                    destination: file.relativePath.isEmpty ? root : "\(root)/\(file.relativePath)",
                    source: "s3://\(plan.source.bucket)/\(file.key)",
                    expectedSize: file.size,
                    expectedMD5: file.etag.contains("-") ? nil : ETag.md5(ofSinglePart: file.etag),
                    budget: budget, retry: limits.retry, logger: logger
                )
                _ = try await download.run { offset throws(StorageError) in
                    try await client.openObject(bucket: plan.source.bucket, key: file.key, etag: file.etag, from: offset)
                }
            }
            return Staged(
                bytes: budget.total, fileCount: plan.files.count,
                etag: plan.isDirectory ? nil : plan.files.first?.etag, lastModified: nil, version: plan.version
            )
        }
    }
}

/// Runs one task per item, at most `concurrency` at a time; the first failure cancels the rest.
enum ParallelDownloads {
    static func run<Item: Sendable>(
        _ items: [Item],
        concurrency: Int,
        _ body: @escaping @Sendable (Item) async throws(StorageError) -> Void
    ) async throws(StorageError) {
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var pending = items.makeIterator()
                for _ in 0..<max(1, concurrency) {
                    guard let item = pending.next() else { break }
                    group.addTask { try await body(item) }
                }
                while try await group.next() != nil {
                    if let item = pending.next() { group.addTask { try await body(item) } }
                }
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw TransportErrors.map(error, what: "downloading")
        }
    }
}
