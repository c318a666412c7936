import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Small blocking file-system calls. Callers run them on `NIOThreadPool.singleton`, never on the
/// cooperative pool; bulk data goes through NIOFileSystem instead.
enum BlockingFiles {
    enum Kind: Equatable {
        case file, directory, symlink, other, missing
    }

    static func kind(_ path: String, followingSymlinks: Bool) -> Kind {
        var info = stat()
        let result = followingSymlinks ? stat(path, &info) : lstat(path, &info)
        guard result == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    static func size(_ path: String) -> Int64? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    static func modificationTime(_ path: String) -> Double? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }

    /// Sets the modification time to now; the cache uses it to remember use across restarts.
    static func touch(_ path: String) {
        _ = utimensat(AT_FDCWD, path, nil, 0)
    }

    /// The path with every symlink resolved, or nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func readFile(_ path: String, maxBytes: Int, what: String) throws(StorageError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError(.localIO, "\(what) \(path) cannot be opened: \(errnoText())") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw StorageError(.localIO, "\(what) \(path) cannot be read: \(errnoText())")
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maxBytes {
                throw StorageError(.localIO, "\(what) \(path) is larger than \(maxBytes) bytes")
            }
        }
    }

    /// Writes `bytes` to `path` and flushes them to disk, so a later rename publishes complete data.
    static func writeFile(_ path: String, bytes: [UInt8]) throws(StorageError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError(.localIO, "\(path) cannot be created: \(errnoText())") }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw StorageError(.localIO, "\(path) cannot be written: \(errnoText())")
            }
            offset += written
        }
        guard fsync(fd) == 0 else { throw StorageError(.localIO, "\(path) cannot be flushed: \(errnoText())") }
    }

    static func listDirectory(_ path: String, what: String) throws(StorageError) -> [String] {
        guard let directory = opendir(path) else {
            throw StorageError(.localIO, "\(what) \(path) cannot be listed: \(errnoText())")
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func makeDirectories(_ path: String) throws(StorageError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StorageError(.localIO, "directory \(path) cannot be created: \(error.localizedDescription)")
        }
    }

    /// Removes a file or a whole tree; symlinks are removed, never followed.
    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `rename(2)`; returns the errno on failure.
    static func move(_ source: String, to destination: String) -> Int32? {
        rename(source, destination) == 0 ? nil : errno
    }

    /// Makes a rename inside `directory` durable.
    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    static func errnoText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }
}
