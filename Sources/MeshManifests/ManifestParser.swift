import Yams

/// Reads manifests (any number of YAML documents per file, `kind: List` too) into the objects
/// they declare, refusing unknown kinds and fields with the file and line.
public enum ManifestParser {
    public static let kinds = ["InferenceService", "Predictor", "Model", "VModel"]

    /// The objects of one file's text. Empty documents are skipped.
    public static func objects(in text: String, file: String) throws(ManifestError) -> [DesiredObject] {
        let reader = ManifestReader(file: file)
        var objects: [DesiredObject] = []
        do {
            var documents = try Yams.compose_all(yaml: text)
            while let document = documents.next() {
                if document.scalar != nil && document.tag == Tag(.null) { continue }
                objects += try self.objects(document, reader: reader)
            }
            // The sequence stops at a syntax error and keeps it.
            if let error = documents.error { throw error }
        } catch let error as ManifestError {
            throw error
        } catch let error as YamlError {
            let (line, problem) = Self.location(of: error)
            throw ManifestError(file: file, line: line, message: "not valid YAML: \(problem)")
        } catch {
            throw ManifestError(file: file, line: nil, message: "not valid YAML: \(error)")
        }
        return objects
    }

    /// Objects from several files, checked together: an id declared twice is refused.
    public static func objects(in files: [(name: String, text: String)]) throws(ManifestError) -> [DesiredObject] {
        var objects: [DesiredObject] = []
        var seen: [String: ManifestSource] = [:]
        for file in files {
            for object in try self.objects(in: file.text, file: file.name) {
                if let first = seen[object.name] {
                    throw ManifestError(file: object.source.file, line: object.source.line,
                                        message: "\(object.name) is declared twice (first at \(first))")
                }
                seen[object.name] = object.source
                objects.append(object)
            }
        }
        return objects
    }

    private static func objects(_ document: Node, reader: ManifestReader) throws(ManifestError) -> [DesiredObject] {
        let fields = try reader.fields(document, at: "", allowed: ["apiVersion", "kind", "metadata", "spec", "status", "items"])
        let kind = try fields.requiredString("kind")
        let source = ManifestSource(file: reader.file, line: document.mark?.line)
        if kind == "List" {
            guard let items = fields.node("items")?.sequence else { return [] }
            var objects: [DesiredObject] = []
            for item in items { objects += try self.objects(item, reader: reader) }
            return objects
        }
        if fields.has("items") { throw fields.error("items", "only a List has items") }
        let apiVersion = try fields.requiredString("apiVersion")
        func expect(_ version: String) throws(ManifestError) {
            guard apiVersion == version else { throw fields.error("apiVersion", "\(kind) takes apiVersion \(version), not \(apiVersion)") }
        }
        switch kind {
        case "InferenceService":
            try expect(KServeKinds.inferenceServiceAPIVersion)
            return [.vmodel(try KServeKinds.inferenceService(fields, source: source))]
        case "Predictor":
            try expect(KServeKinds.predictorAPIVersion)
            return [.vmodel(try KServeKinds.predictor(fields, source: source))]
        case "Model":
            try expect(MeshKinds.apiVersion)
            return [.model(try MeshKinds.model(fields, source: source))]
        case "VModel":
            try expect(MeshKinds.apiVersion)
            return [.vmodel(try MeshKinds.vmodel(fields, source: source))]
        default:
            throw fields.error("kind", "unknown kind \(kind); the mesh applies \(kinds.joined(separator: ", ")) (and List)")
        }
    }

    private static func location(of error: YamlError) -> (Int?, String) {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return (mark.line, problem)
        default:
            return (nil, "\(error)")
        }
    }
}
