import Logging
import NIOPosix
import Synchronization

/// The current storage-config, re-read from its files while the peer runs.
///
/// Kubernetes updates a mounted Secret by swapping a symlink, so modification times of the
/// visible files do not change; the store compares contents instead. Reading a dozen small files
/// every few seconds costs nothing.
public final class StorageConfigurationStore: Sendable {
    public enum Source: Sendable, CustomStringConvertible {
        /// A mounted Secret: one file per storage key (hidden files such as `..data` are skipped).
        case directory(String)
        /// One JSON file mapping storage keys to entries.
        case file(String)
        /// A configuration given in code; ``reload()`` keeps it.
        case fixed

        public var description: String {
            switch self {
            case .directory(let path): return "directory \(path)"
            case .file(let path): return "file \(path)"
            case .fixed: return "fixed configuration"
            }
        }
    }

    public let source: Source
    private let logger: Logger
    private let state: Mutex<(configuration: StorageConfiguration, raw: [String: [UInt8]])>

    /// A store that always returns `configuration`.
    public init(_ configuration: StorageConfiguration = StorageConfiguration(), logger: Logger = Logger(label: "modelmesh.storage.config")) {
        self.source = .fixed
        self.logger = logger
        self.state = Mutex((configuration, [:]))
    }

    /// Reads `source` once; throws when it cannot be read at all (an invalid entry is not an error
    /// here: it is reported when a model uses it).
    public init(source: Source, logger: Logger = Logger(label: "modelmesh.storage.config")) async throws(StorageError) {
        self.source = source
        self.logger = logger
        let raw = try await Self.read(source)
        let configuration = try Self.parse(raw, source: source)
        self.state = Mutex((configuration, raw))
        logger.info("storage-config loaded", metadata: ["source": "\(source)", "keys": "\(configuration.keys)"])
        for (key, problem) in configuration.problems.sorted(by: { $0.key < $1.key }) {
            logger.warning("storage-config entry is invalid", metadata: ["key": "\(key)", "problem": "\(problem)"])
        }
    }

    public var current: StorageConfiguration { state.withLock { $0.configuration } }

    /// Re-reads the source; returns whether anything changed. On a read error the previous
    /// configuration stays in force.
    @discardableResult
    public func reload() async throws(StorageError) -> Bool {
        if case .fixed = source { return false }
        let raw = try await Self.read(source)
        if state.withLock({ $0.raw == raw }) { return false }
        let configuration = try Self.parse(raw, source: source)
        let previous = state.withLock { state in
            defer { state = (configuration, raw) }
            return state.raw
        }
        let changed = raw.keys.filter { previous[$0] != nil && previous[$0] != raw[$0] }.sorted()
        logger.info("storage-config changed", metadata: [
            "added": "\(raw.keys.filter { previous[$0] == nil }.sorted())",
            "changed": "\(changed)",
            "removed": "\(previous.keys.filter { raw[$0] == nil }.sorted())",
        ])
        for (key, problem) in configuration.problems.sorted(by: { $0.key < $1.key }) {
            logger.warning("storage-config entry is invalid", metadata: ["key": "\(key)", "problem": "\(problem)"])
        }
        return true
    }

    /// Re-reads the source every `interval` until the calling task is cancelled. Run it in the
    /// peer's service group; a failed read is logged and retried at the next tick.
    public func watchForChanges(every interval: Duration = .seconds(5)) async throws {
        while true {
            try await Task.sleep(for: interval)
            do {
                try await reload()
            } catch {
                logger.warning("storage-config could not be re-read; keeping the previous one", metadata: [
                    "source": "\(source)", "error": "\(error)",
                ])
            }
        }
    }

    // MARK: - Reading

    private static func parse(_ raw: [String: [UInt8]], source: Source) throws(StorageError) -> StorageConfiguration {
        switch source {
        case .directory: return StorageConfiguration.parse(files: raw)
        case .file: return try StorageConfiguration.parse(singleFile: raw[""] ?? [])
        case .fixed: return StorageConfiguration()
        }
    }

    /// The raw bytes of the source: key → contents for a directory, `""` → contents for a file.
    private static func read(_ source: Source) async throws(StorageError) -> [String: [UInt8]] {
        let maxFileBytes = 1 << 20
        do {
            return try await NIOThreadPool.singleton.runIfActive { () throws -> [String: [UInt8]] in
                switch source {
                case .fixed:
                    return [:]
                case .file(let path):
                    return ["": try BlockingFiles.readFile(path, maxBytes: maxFileBytes, what: "storage-config file")]
                case .directory(let path):
                    var files: [String: [UInt8]] = [:]
                    for name in try BlockingFiles.listDirectory(path, what: "storage-config directory") where !name.hasPrefix(".") {
                        let filePath = "\(path)/\(name)"
                        // Secret keys are symlinks into `..data`; follow them, skip anything else.
                        guard BlockingFiles.kind(filePath, followingSymlinks: true) == .file else { continue }
                        files[name] = try BlockingFiles.readFile(filePath, maxBytes: maxFileBytes, what: "storage-config entry")
                    }
                    return files
                }
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.localIO, "reading storage-config (\(source)) failed: \(error)")
        }
    }
}
