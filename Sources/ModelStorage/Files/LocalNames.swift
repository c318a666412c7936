/// Turning remote names (object keys, URL paths) into local file names that stay where they belong.
enum LocalNames {
    static let maxSegmentBytes = 255
    static let maxDepth = 64

    /// The local name of a model's file or directory: the last path segment, or `model`.
    static func contentName(forPathEnding path: String) -> String {
        let last = path.split(separator: "/").last.map(String.init) ?? ""
        guard isSafeSegment(last) else { return "model" }
        return last
    }

    /// Refuses object keys that would leave the model directory or collapse onto another name:
    /// `..` or `.` segments, empty segments (`a//b`, a leading `/`), control characters.
    static func checkRelativePath(_ relative: String, key: String, bucket: String) throws(StorageError) {
        let segments = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count <= maxDepth else {
            throw StorageError(.pathEscapes, "object key '\(printable(key))' in bucket '\(bucket)' is nested more than \(maxDepth) levels deep; refusing the model")
        }
        for segment in segments where !isSafeSegment(String(segment)) {
            throw StorageError(.pathEscapes, "object key '\(printable(key))' in bucket '\(bucket)' has a segment ('\(printable(String(segment)))') that would escape or collapse the model directory (.., ., empty, or control characters); refusing the model")
        }
    }

    /// A file `a` and a file `a/b` cannot both exist on disk.
    static func checkNoFileIsADirectory(_ relativePaths: [String], bucket: String, prefix: String) throws(StorageError) {
        let files = Set(relativePaths)
        for path in relativePaths {
            var parent = Substring(path)
            while let slash = parent.lastIndex(of: "/") {
                parent = parent[..<slash]
                if files.contains(String(parent)) {
                    throw StorageError(.unsupported, "s3://\(bucket)/\(prefix)\(parent) is both an object and a directory of objects; a model directory cannot hold both")
                }
            }
        }
    }

    static func isSafeSegment(_ segment: String) -> Bool {
        !segment.isEmpty && segment != "." && segment != ".."
            && segment.utf8.count <= maxSegmentBytes
            && !segment.utf8.contains { $0 < 0x20 || $0 == 0x7F }
    }

    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.prefix(300).unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }
}
