import Yams

/// Typed access to one YAML document, with errors that carry the file, the line and the field's
/// path (`spec.predictor.model.storageUri`).
struct ManifestReader {
    let file: String

    func error(_ node: Node?, _ message: String) -> ManifestError {
        ManifestError(file: file, line: node?.mark?.line, message: message)
    }

    /// The members of a mapping; a member not in `allowed` is refused.
    func fields(_ node: Node, at path: String, allowed: Set<String>) throws(ManifestError) -> Fields {
        guard let mapping = node.mapping else { throw error(node, "\(path) must be a mapping, not \(describe(node))") }
        var members: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.scalar?.string else { throw error(key, "\(path) has a key that is not a string") }
            guard allowed.contains(name) else {
                throw error(key, "unknown field \(join(path, name)); \(path) takes \(allowed.sorted().joined(separator: ", "))")
            }
            guard members[name] == nil else { throw error(key, "\(join(path, name)) is given twice") }
            // `key:` with nothing after it is the same as leaving the key out.
            if value.scalar != nil && value.tag == Tag(.null) { continue }
            members[name] = value
        }
        return Fields(reader: self, node: node, path: path, members: members)
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let scalar): return "\"\(scalar.string)\""
        case .alias: return "an alias"
        }
    }

    func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// The members of one mapping, read by name.
    struct Fields {
        let reader: ManifestReader
        let node: Node
        let path: String
        let members: [String: Node]

        func has(_ name: String) -> Bool { members[name] != nil }

        func node(_ name: String) -> Node? { members[name] }

        func error(_ name: String, _ message: String) -> ManifestError {
            reader.error(members[name] ?? node, message)
        }

        func string(_ name: String) throws(ManifestError) -> String? {
            guard let value = members[name] else { return nil }
            guard let scalar = value.scalar else {
                throw reader.error(value, "\(reader.join(path, name)) must be a string, not \(reader.describe(value))")
            }
            return scalar.string
        }

        func requiredString(_ name: String) throws(ManifestError) -> String {
            guard let text = try string(name), !text.isEmpty else {
                throw reader.error(members[name] ?? node, "\(reader.join(path, name)) is required")
            }
            return text
        }

        func int(_ name: String) throws(ManifestError) -> Int? {
            guard let value = members[name] else { return nil }
            guard value.tag == Tag(.int), let number = value.int else {
                throw reader.error(value, "\(reader.join(path, name)) must be a whole number, not \(reader.describe(value))")
            }
            return number
        }

        func double(_ name: String) throws(ManifestError) -> Double? {
            guard let value = members[name] else { return nil }
            guard value.tag == Tag(.int) || value.tag == Tag(.float), let number = value.float else {
                throw reader.error(value, "\(reader.join(path, name)) must be a number, not \(reader.describe(value))")
            }
            return number
        }

        func bool(_ name: String) throws(ManifestError) -> Bool? {
            guard let value = members[name] else { return nil }
            guard value.tag == Tag(.bool), let flag = value.bool else {
                throw reader.error(value, "\(reader.join(path, name)) must be true or false, not \(reader.describe(value))")
            }
            return flag
        }

        func strings(_ name: String) throws(ManifestError) -> [String]? {
            guard let value = members[name] else { return nil }
            guard let sequence = value.sequence else {
                throw reader.error(value, "\(reader.join(path, name)) must be a list of strings, not \(reader.describe(value))")
            }
            var result: [String] = []
            for item in sequence {
                guard let scalar = item.scalar else { throw reader.error(item, "\(reader.join(path, name)) must hold strings only") }
                result.append(scalar.string)
            }
            return result
        }

        /// A mapping of strings to strings (labels, annotations, parameters).
        func stringMap(_ name: String) throws(ManifestError) -> [String: String]? {
            guard let value = members[name] else { return nil }
            guard let mapping = value.mapping else {
                throw reader.error(value, "\(reader.join(path, name)) must be a mapping of strings, not \(reader.describe(value))")
            }
            var result: [String: String] = [:]
            for (key, item) in mapping {
                guard let key = key.scalar?.string, let text = item.scalar?.string else {
                    throw reader.error(item, "\(reader.join(path, name)) must map strings to strings")
                }
                result[key] = text
            }
            return result
        }

        /// The members of a nested mapping.
        func nested(_ name: String, allowed: Set<String>) throws(ManifestError) -> Fields? {
            guard let value = members[name] else { return nil }
            return try reader.fields(value, at: reader.join(path, name), allowed: allowed)
        }
    }
}
