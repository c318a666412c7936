/// Everything that can go wrong loading or running a model. Messages name the node, input or
/// operator involved so they can be passed straight to a client.
public enum ONNXError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The bytes are not a readable ONNX model (truncated, corrupt, or not ONNX at all).
    case malformedModel(String)
    /// The model parses but breaks the format's rules (dangling inputs, cycles, bad opsets).
    case invalidGraph(String)
    /// Operators outside the supported set, each as `domain:OpType` (sorted, deduplicated).
    case unsupportedOperators([String])
    /// A supported operator used with an attribute value, input form or type we do not handle.
    case unsupportedFeature(node: String, detail: String)
    /// A tensor whose element count does not match its shape.
    case invalidTensor(String)
    /// A request input missing, unknown, or of the wrong type or shape.
    case invalidInput(name: String, detail: String)
    /// A failure while computing (an invalid runtime shape, an index out of range).
    case runtime(String)

    public var description: String {
        switch self {
        case .malformedModel(let detail): "malformed ONNX model: \(detail)"
        case .invalidGraph(let detail): "invalid ONNX graph: \(detail)"
        case .unsupportedOperators(let ops): "unsupported operators: \(ops.joined(separator: ", "))"
        case .unsupportedFeature(let node, let detail): "unsupported in node \(node): \(detail)"
        case .invalidTensor(let detail): "invalid tensor: \(detail)"
        case .invalidInput(let name, let detail): "input '\(name)': \(detail)"
        case .runtime(let detail): "inference failed: \(detail)"
        }
    }
}
