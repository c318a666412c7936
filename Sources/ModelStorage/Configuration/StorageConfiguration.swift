import MeshCore
import Foundation

/// ModelMesh's `storage-config`: named storage entries, each a JSON object with a `type`.
///
/// Read from a mounted Secret directory (one file per key, each holding one JSON object) or from
/// one JSON file mapping keys to objects. An entry that cannot be parsed does not spoil the
/// others: it is kept as a problem, and a fetch that names it gets that problem as its error.
public struct StorageConfiguration: Sendable, CustomStringConvertible {
    public private(set) var entries: [String: StorageEntry]
    /// Keys whose entries could not be used, with the reason (never a value from the entry).
    public private(set) var problems: [String: String]

    public init() {
        entries = [:]
        problems = [:]
    }

    /// The configuration for the directory form: file name → file contents.
    public static func parse(files: [String: [UInt8]]) -> StorageConfiguration {
        var configuration = StorageConfiguration()
        for (key, contents) in files {
            configuration.add(key: key, json: Result { try JSONDecoder().decode(JSONValue.self, from: Data(contents)) })
        }
        return configuration
    }

    /// The configuration for the single-file form: one object of key → entry object (an entry may
    /// also be a string holding the JSON object, as in a Secret's `stringData`).
    public static func parse(singleFile contents: [UInt8]) throws(StorageError) -> StorageConfiguration {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(contents))
        } catch {
            throw StorageError(.invalidConfiguration, "storage-config file is not valid JSON")
        }
        guard case .object(let objects) = root else {
            throw StorageError(.invalidConfiguration, "storage-config file must be a JSON object of storage keys to entries, found \(root.typeName)")
        }
        var configuration = StorageConfiguration()
        for (key, value) in objects {
            if case .string(let text) = value {
                configuration.add(key: key, json: Result { try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) })
            } else {
                configuration.add(key: key, json: .success(value))
            }
        }
        return configuration
    }

    private mutating func add(key: String, json: Result<JSONValue, any Error>) {
        do throws(StorageLocation.Problem) {
            try StorageLocation.checkStorageKey(key)
        } catch {
            problems[StorageLocation.printableKey(key)] = "has a name that cannot be used: \(error)"
            return
        }
        switch json {
        case .failure:
            problems[key] = "is not valid JSON"
        case .success(let value):
            switch StorageEntry.parse(value) {
            case .success(let entry): entries[key] = entry
            case .failure(let failure): problems[key] = failure.problem
            }
        }
    }

    public var keys: [String] { (Array(entries.keys) + Array(problems.keys)).sorted() }

    /// The entry named `key`, or an error saying why there is none.
    public func entry(_ key: String) throws(StorageError) -> StorageEntry {
        if let entry = entries[key] { return entry }
        if let problem = problems[key] {
            throw StorageError(.invalidConfiguration, "storage-config entry '\(key)' \(problem)")
        }
        let known = entries.keys.sorted()
        throw StorageError(
            .unknownStorageKey,
            "storage-config has no entry '\(key)'"
                + (known.isEmpty ? " (it has no entries at all; is the storage-config Secret mounted?)" : "; it has: \(known.joined(separator: ", "))")
        )
    }

    public var description: String {
        let shown = entries.keys.sorted().map { "\($0) (\(entries[$0]!.type))" }
            + problems.keys.sorted().map { "\($0) (invalid)" }
        return "storage-config with \(shown.isEmpty ? "no entries" : shown.joined(separator: ", "))"
    }
}

extension StorageLocation {
    static func printableKey(_ key: String) -> String {
        String(String.UnicodeScalarView(key.prefix(64).unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }
}
