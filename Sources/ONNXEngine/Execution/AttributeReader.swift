/// Typed access to a node's attributes that remembers which ones were read, so that an
/// attribute the kernel factory never looked at (a variant we do not implement) is refused
/// at load instead of being silently ignored.
final class AttributeReader {
    private let byName: [String: Onnx_AttributeProto]
    private let label: String
    private var consumed: Set<String> = []

    init(_ node: Onnx_NodeProto, label: String) throws(ONNXError) {
        var byName: [String: Onnx_AttributeProto] = [:]
        for attribute in node.attribute {
            guard byName.updateValue(attribute, forKey: attribute.name) == nil else {
                throw .invalidGraph("\(label): attribute \(attribute.name) appears twice")
            }
            guard attribute.refAttrName.isEmpty else {
                throw .unsupportedFeature(node: label, detail: "attribute references (\(attribute.name))")
            }
        }
        self.byName = byName
        self.label = label
    }

    /// Attributes that are documented as having no effect on results (hints, metadata).
    func ignore(_ names: String...) {
        consumed.formUnion(names)
    }

    /// Names present in the node but never read.
    var unread: [String] { byName.keys.filter { !consumed.contains($0) }.sorted() }

    func has(_ name: String) -> Bool {
        byName[name] != nil
    }

    private func lookup(_ name: String, _ type: Onnx_AttributeProto.AttributeType) throws(ONNXError) -> Onnx_AttributeProto? {
        consumed.insert(name)
        guard let attribute = byName[name] else { return nil }
        // IR version 1 files leave `type` unset; trust the field that carries the value then.
        if attribute.hasType, attribute.type != type {
            throw .invalidGraph("\(label): attribute \(name) should be \(type), is \(attribute.type)")
        }
        return attribute
    }

    func int(_ name: String) throws(ONNXError) -> Int? {
        guard let a = try lookup(name, .int) else { return nil }
        guard let value = Int(exactly: a.i) else { throw .invalidGraph("\(label): attribute \(name) \(a.i) is out of range") }
        return value
    }

    func int(_ name: String, default value: Int) throws(ONNXError) -> Int {
        try int(name) ?? value
    }

    func float(_ name: String) throws(ONNXError) -> Float? {
        try lookup(name, .float)?.f
    }

    func float(_ name: String, default value: Float) throws(ONNXError) -> Float {
        try float(name) ?? value
    }

    func string(_ name: String) throws(ONNXError) -> String? {
        guard let a = try lookup(name, .string) else { return nil }
        return String(decoding: a.s, as: UTF8.self)
    }

    func string(_ name: String, default value: String) throws(ONNXError) -> String {
        try string(name) ?? value
    }

    func ints(_ name: String) throws(ONNXError) -> [Int64]? {
        try lookup(name, .ints)?.ints
    }

    func floats(_ name: String) throws(ONNXError) -> [Float]? {
        try lookup(name, .floats)?.floats
    }

    func strings(_ name: String) throws(ONNXError) -> [String]? {
        try lookup(name, .strings)?.strings.map { String(decoding: $0, as: UTF8.self) }
    }

    func tensor(_ name: String) throws(ONNXError) -> ONNXTensor? {
        guard let a = try lookup(name, .tensor) else { return nil }
        return try TensorDecoding.decode(a.t, externalData: nil)
    }

    /// Marks a name as read without decoding it (used to report it as unsupported).
    func touch(_ name: String) {
        consumed.insert(name)
    }
}
