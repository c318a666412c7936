import OpenInference

/// Parameters between the protobuf map form and the ordered ``Parameters``. Map order is not
/// kept by protobuf, so decoded parameters are sorted by name.
extension Parameters {
    public init(_ map: [String: Inference_InferParameter]) {
        self.init()
        for name in map.keys.sorted() {
            guard let choice = map[name]?.parameterChoice else { continue }
            switch choice {
            case .boolParam(let value): self[name] = .bool(value)
            case .int64Param(let value): self[name] = .int(value)
            case .stringParam(let value): self[name] = .string(value)
            case .doubleParam(let value): self[name] = .double(value)
            case .uint64Param(let value): self[name] = value <= UInt64(Int64.max) ? .int(Int64(value)) : .string(String(value))
            }
        }
    }

    public var protobuf: [String: Inference_InferParameter] {
        var map: [String: Inference_InferParameter] = [:]
        for (name, value) in entries {
            var parameter = Inference_InferParameter()
            switch value {
            case .bool(let flag): parameter.boolParam = flag
            case .int(let number): parameter.int64Param = number
            case .double(let number): parameter.doubleParam = number
            case .string(let text): parameter.stringParam = text
            }
            map[name] = parameter
        }
        return map
    }
}
