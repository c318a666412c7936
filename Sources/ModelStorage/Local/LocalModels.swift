/// Models on a mounted volume: read where they are, after checking they stay inside their root.
///
/// The model path and every symlink inside a model directory must resolve inside the configured
/// root, so a link such as `model/weights -> /etc` cannot hand a runtime files from elsewhere.
enum LocalModels {
    /// Blocking; run through `DiskCache.run`.
    static func resolve(_ source: LocalSource, limits: StorageLimits) throws(StorageError) -> FetchedModel {
        guard let realRoot = BlockingFiles.realPath(source.root), BlockingFiles.kind(realRoot, followingSymlinks: false) == .directory else {
            throw StorageError(.localIO, "local model root \(source.root) does not exist or is not a directory")
        }
        let shown = source.absolutePath
        guard BlockingFiles.kind(shown, followingSymlinks: false) != .missing, let real = BlockingFiles.realPath(shown) else {
            throw StorageError(.notFound, "local model \(shown) does not exist")
        }
        guard isInside(real, root: realRoot) else {
            throw StorageError(.pathEscapes, "local model \(shown) resolves to \(real), outside the model root \(source.root); symlinks out of the root are refused")
        }
        switch BlockingFiles.kind(real, followingSymlinks: false) {
        case .file:
            let size = BlockingFiles.size(real) ?? 0
            try checkSize(size, shown: shown, limits: limits)
            return model(path: real, isDirectory: false, bytes: size, files: 1, shown: shown)
        case .directory:
            var walk = Walk(root: realRoot, shown: shown, limits: limits)
            try walk.visit(real)
            return model(path: real, isDirectory: true, bytes: walk.bytes, files: walk.files, shown: shown)
        default:
            throw StorageError(.unsupported, "local model \(shown) is neither a file nor a directory")
        }
    }

    private static func model(path: String, isDirectory: Bool, bytes: Int64, files: Int, shown: String) -> FetchedModel {
        FetchedModel(
            path: path, isDirectory: isDirectory, byteCount: bytes, fileCount: files, fromCache: false,
            downloadDuration: .zero, version: nil, source: shown, cacheEntryID: nil
        )
    }

    static func isInside(_ path: String, root: String) -> Bool {
        path == root || path.hasPrefix(root == "/" ? "/" : root + "/")
    }

    fileprivate static func checkSize(_ bytes: Int64, shown: String, limits: StorageLimits) throws(StorageError) {
        if bytes > limits.maxModelBytes {
            throw ByteBudget.tooLarge("local model \(shown)", limit: limits.maxModelBytes, seen: bytes)
        }
    }

    /// Walks a model directory on real paths, following in-root symlinks once each.
    private struct Walk {
        let root: String
        let shown: String
        let limits: StorageLimits
        var bytes: Int64 = 0
        var files = 0
        var visited: Set<String> = []

        mutating func visit(_ directory: String) throws(StorageError) {
            guard visited.insert(directory).inserted else { return }
            for name in try BlockingFiles.listDirectory(directory, what: "local model directory") {
                let path = "\(directory)/\(name)"
                var target = path
                var kind = BlockingFiles.kind(path, followingSymlinks: false)
                if kind == .symlink {
                    guard let resolved = BlockingFiles.realPath(path) else {
                        throw StorageError(.notFound, "local model \(shown) has a dangling symlink \(path)")
                    }
                    guard LocalModels.isInside(resolved, root: root) else {
                        throw StorageError(.pathEscapes, "local model \(shown) has a symlink \(path) that points outside the model root (to \(resolved)); refusing the model")
                    }
                    target = resolved
                    kind = BlockingFiles.kind(resolved, followingSymlinks: false)
                }
                switch kind {
                case .directory:
                    try visit(target)
                case .file:
                    files += 1
                    bytes += BlockingFiles.size(target) ?? 0
                    if files > limits.maxFilesPerModel {
                        throw StorageError(.tooLarge, "local model \(shown) has more than \(limits.maxFilesPerModel) files")
                    }
                    try LocalModels.checkSize(bytes, shown: shown, limits: limits)
                default:
                    continue
                }
            }
        }
    }
}
