/// What to download for an S3 location, found with one listing: the single object whose key
/// is the path, or every object under `path/` for a directory model.
struct S3ModelPlan: Sendable {
    struct File: Sendable {
        let key: String
        /// Inside the model directory; empty for a single-file model.
        let relativePath: String
        let size: Int64
        let etag: String
    }

    let source: S3Source
    let isDirectory: Bool
    /// The local name of the file or directory (the path's last segment).
    let contentName: String
    let files: [File]

    var totalBytes: Int64 { files.reduce(0) { $0 + $1.size } }

    /// The cache key: `models/x` and `models/x/` name the same directory model.
    var cacheIdentity: String {
        let path = SourceResolver.trimmingTrailingSlashes(source.path)
        return "s3\n\(source.entry.endpointURL)\n\(source.bucket)\n\(path)\n\(isDirectory ? "directory" : "file")"
    }

    /// Changes whenever any object's ETag, size or name changes.
    var version: String {
        if !isDirectory, let file = files.first { return "s3-object \(file.etag) \(file.size)" }
        let lines = files.map { "\($0.relativePath)\t\($0.etag)\t\($0.size)\n" }.sorted().joined()
        return "s3-prefix " + Hex.sha256(lines)
    }

    static func discover(_ source: S3Source, client: S3Client, maxFiles: Int) async throws(StorageError) -> S3ModelPlan {
        let trimmed = SourceResolver.trimmingTrailingSlashes(source.path)
        let contentName = LocalNames.contentName(forPathEnding: trimmed)
        let objects: [S3ObjectSummary]
        do {
            objects = try await client.listObjects(bucket: source.bucket, prefix: source.path, maxObjects: maxFiles)
        } catch where error.reason == .accessDenied && !source.path.hasSuffix("/") {
            // Credentials allowed to read objects but not to list the bucket still load a
            // single-file model; a directory model needs the listing.
            guard let object = try? await client.headObject(bucket: source.bucket, key: source.path) else { throw error }
            return S3ModelPlan(
                source: source, isDirectory: false, contentName: contentName,
                files: [File(key: object.key, relativePath: "", size: object.size, etag: object.etag)]
            )
        }
        if !source.path.hasSuffix("/"), let object = objects.first(where: { $0.key == source.path }) {
            return S3ModelPlan(
                source: source, isDirectory: false, contentName: contentName,
                files: [File(key: object.key, relativePath: "", size: object.size, etag: object.etag)]
            )
        }
        let prefix = trimmed + "/"
        var files: [File] = []
        for object in objects where object.key.hasPrefix(prefix) && !object.key.hasSuffix("/") {
            let relative = String(object.key.dropFirst(prefix.count))
            try LocalNames.checkRelativePath(relative, key: object.key, bucket: source.bucket)
            files.append(File(key: object.key, relativePath: relative, size: object.size, etag: object.etag))
        }
        guard !files.isEmpty else {
            let entry = "storage-config entry '\(source.storageKey)'"
            throw StorageError(
                .notFound,
                "S3 object s3://\(source.bucket)/\(source.path) at \(source.entry.endpointURL) (\(entry)) not found: NoSuchKey, and no objects under s3://\(source.bucket)/\(prefix)",
                s3ErrorCode: "NoSuchKey"
            )
        }
        try LocalNames.checkNoFileIsADirectory(files.map(\.relativePath), bucket: source.bucket, prefix: prefix)
        return S3ModelPlan(source: source, isDirectory: true, contentName: contentName, files: files)
    }
}
