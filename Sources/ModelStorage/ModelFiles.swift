/// Finding the file a single-file runtime loads inside a model directory.
public enum ModelFiles {
    /// `path` itself when it is a file with the extension; otherwise the one file with it inside
    /// the directory `path`, searched recursively. Zero or several matches are errors that list
    /// what was found, so the user can fix the upload.
    public static func singleFile(withExtension fileExtension: String, in path: String) async throws(StorageError) -> String {
        let suffix = "." + (fileExtension.hasPrefix(".") ? String(fileExtension.dropFirst()) : fileExtension).lowercased()
        return try await DiskCache.run { () throws -> String in
            switch BlockingFiles.kind(path, followingSymlinks: true) {
            case .file:
                guard path.lowercased().hasSuffix(suffix) else {
                    throw StorageError(.notFound, "model file \(lastComponent(path)) does not have the extension \(suffix)")
                }
                return path
            case .directory:
                var matches: [String] = []
                try collect(in: path, suffix: suffix, into: &matches, depth: 0)
                guard matches.count == 1 else {
                    let relative = matches.map { String($0.dropFirst(path.count + 1)) }.sorted()
                    throw StorageError(
                        .notFound,
                        matches.isEmpty
                            ? "the model directory has no \(suffix) file"
                            : "the model directory has \(matches.count) \(suffix) files (\(relative.prefix(10).joined(separator: ", "))); keep exactly one"
                    )
                }
                return matches[0]
            default:
                throw StorageError(.notFound, "model path \(path) does not exist")
            }
        }
    }

    private static func collect(in directory: String, suffix: String, into matches: inout [String], depth: Int) throws(StorageError) {
        guard depth < 32 else { return }
        for name in try BlockingFiles.listDirectory(directory, what: "model directory") where !name.hasPrefix(".") {
            let path = "\(directory)/\(name)"
            switch BlockingFiles.kind(path, followingSymlinks: true) {
            case .directory: try collect(in: path, suffix: suffix, into: &matches, depth: depth + 1)
            case .file where name.lowercased().hasSuffix(suffix): matches.append(path)
            default: continue
            }
        }
    }

    private static func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
