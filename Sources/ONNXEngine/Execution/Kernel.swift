/// One compiled node: reads its input tensors and overwrites its output tensors.
///
/// `outputs` arrive holding the tensors the same node produced on the workspace's previous
/// run, so a kernel that writes through ``ONNXTensor/overwrite(_:shape:_:)`` reuses their
/// buffers instead of allocating.
protocol Kernel: Sendable {
    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError)
    /// Bytes of constant data the kernel keeps outside the initializers (tree tables, labels).
    var constantBytes: Int { get }
}

extension Kernel {
    var constantBytes: Int { 0 }
}

/// A kernel plus what the plan needs to know about its outputs.
struct CompiledNode {
    var kernel: any Kernel
    var outputTypes: [ElementType]
    /// Output ranks that follow from the input ranks (nil or missing where they do not), so
    /// that later nodes can check their axes at load.
    var outputRanks: [Int?]
    /// For ZipMap outputs: the labels that name the columns of the probability tensor.
    var zipMapLabels: [Int: ZipMapLabels] = [:]

    init(_ kernel: any Kernel, outputTypes: [ElementType], outputRanks: [Int?] = []) {
        self.kernel = kernel
        self.outputTypes = outputTypes
        self.outputRanks = outputRanks
    }
}

/// Builds a kernel for a node, or explains why it cannot.
typealias KernelFactory = @Sendable (NodeContext) throws(ONNXError) -> CompiledNode

/// What a kernel factory knows about its node at load time.
struct NodeContext {
    let node: Onnx_NodeProto
    /// `OpType 'name'`, for messages.
    let label: String
    /// The opset version of the node's domain that the model imports.
    let opset: Int
    let attributes: AttributeReader
    /// Element types of the inputs; nil where an optional input is left out.
    let inputTypes: [ElementType?]
    /// Ranks of the inputs where the graph fixes them (declared graph inputs, initializers,
    /// constants, outputs whose rank follows from those); nil where only a run can tell.
    let inputRanks: [Int?]

    func unsupported(_ detail: String) -> ONNXError {
        .unsupportedFeature(node: label, detail: detail)
    }

    func invalid(_ detail: String) -> ONNXError {
        .invalidGraph("\(label): \(detail)")
    }

    /// The type of a required input.
    func inputType(_ index: Int) throws(ONNXError) -> ElementType {
        guard index < inputTypes.count, let type = inputTypes[index] else {
            throw invalid("input \(index) is required")
        }
        return type
    }

    func inputRank(_ index: Int) -> Int? {
        index < inputRanks.count ? inputRanks[index] : nil
    }

    /// Refuses an axis attribute outside [-rank, rank) (or [-rank, rank] when `inclusive`)
    /// when the rank is known at load; otherwise the kernel checks it on each run.
    func checkAxis(
        _ axis: Int, rank: Int?, name: String = "axis", of subject: String = "an input", inclusive: Bool = false
    ) throws(ONNXError) {
        guard let rank else { return }
        let upper = inclusive ? rank : rank - 1
        guard axis >= -rank, axis <= upper else {
            let range = inclusive ? "[\(-rank), \(rank)]" : "[\(-rank), \(rank))"
            throw invalid("\(name) \(axis) is out of range \(range) for \(subject) of rank \(rank)")
        }
    }

    /// Checks the input count is within the operator's arity.
    func expectInputs(_ range: ClosedRange<Int>) throws(ONNXError) {
        let present = inputTypes.lastIndex { $0 != nil }.map { $0 + 1 } ?? 0
        guard range.contains(present), inputTypes.count <= range.upperBound else {
            throw invalid("takes \(range) inputs, has \(inputTypes.count)")
        }
    }

    /// Throws unless `type` is one of `allowed`.
    func require(_ type: ElementType, in allowed: Set<ElementType>, for what: String = "input") throws(ONNXError) {
        guard allowed.contains(type) else {
            let names = allowed.map(\.description).sorted().joined(separator: ", ")
            throw unsupported("\(what) of type \(type) (supported: \(names))")
        }
    }
}

extension Array where Element == ONNXTensor? {
    /// A required input; the plan guarantees presence, this keeps a bug from crashing.
    func required(_ index: Int) throws(ONNXError) -> ONNXTensor {
        guard index < count, let tensor = self[index] else {
            throw .runtime("missing input \(index)")
        }
        return tensor
    }

    func optional(_ index: Int) -> ONNXTensor? {
        index < count ? self[index] : nil
    }
}
