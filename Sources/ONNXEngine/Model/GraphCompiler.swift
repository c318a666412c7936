import Foundation

/// Checks a parsed model and turns it into an ``ExecutionPlan``.
struct GraphCompiler {
    let model: Onnx_ModelProto
    let baseDirectory: URL?

    private var slotTypes: [ElementType] = []
    /// Ranks known at load (see ``NodeContext/inputRanks``), by slot.
    private var slotRanks: [Int?] = []
    private var slotByName: [String: Int] = [:]
    private var constants: [Int: ONNXTensor] = [:]
    private var zipMapLabels: [Int: ZipMapLabels] = [:]
    private var weightBytes = 0

    init(model: Onnx_ModelProto, baseDirectory: URL?) {
        self.model = model
        self.baseDirectory = baseDirectory
    }

    /// Operator set versions by canonical domain.
    static func opsets(of model: Onnx_ModelProto) throws(ONNXError) -> [String: Int] {
        var opsets: [String: Int] = [:]
        for entry in model.opsetImport {
            let domain = OperatorRegistry.canonicalDomain(entry.domain)
            guard entry.version > 0, entry.version < 1000 else {
                throw .invalidGraph("opset version \(entry.version) for domain \(domain)")
            }
            // Exporters list the default domain as both "" and "ai.onnx"; the newest applies.
            opsets[domain] = max(opsets[domain] ?? 0, Int(entry.version))
        }
        // IR version 1 and 2 files predate opset_import and mean the first default opset.
        if model.opsetImport.isEmpty && model.irVersion < 3 {
            opsets[OperatorRegistry.standardDomain] = 1
        }
        return opsets
    }

    mutating func compile() throws(ONNXError) -> ExecutionPlan {
        guard model.hasGraph else { throw .malformedModel("the model has no graph") }
        guard model.irVersion > 0 else { throw .malformedModel("ir_version is missing") }
        let graph = model.graph
        let opsets = try Self.opsets(of: model)
        try Self.checkOperators(graph, opsets: opsets)

        var constantList: [ExecutionPlan.Constant] = []
        // One set of open files for all initializers, so each file is read once.
        let externalData = baseDirectory.map(ExternalDataFiles.init(baseDirectory:))
        for initializer in graph.initializer {
            guard !initializer.name.isEmpty else { throw .invalidGraph("an initializer has no name") }
            guard slotByName[initializer.name] == nil else {
                throw .invalidGraph("initializer \(initializer.name) is defined twice")
            }
            let tensor = try TensorDecoding.decode(initializer, externalData: externalData)
            let slot = newSlot(initializer.name, tensor.elementType, rank: tensor.shape.count)
            constants[slot] = tensor
            weightBytes += tensor.storage.allocatedBytes
        }

        var inputs: [ExecutionPlan.Binding] = []
        for input in graph.input where slotByName[input.name] == nil {
            let info = try Self.tensorInfo(input, role: "input")
            guard info.elementType.isComputable else {
                throw .unsupportedFeature(node: "input \(input.name)", detail: "element type \(info.elementType)")
            }
            inputs.append(.init(info: info, slot: newSlot(input.name, info.elementType, rank: info.shape?.count)))
        }

        var steps: [ExecutionPlan.Step] = []
        for node in try TopologicalOrder.sort(graph.node, available: Set(slotByName.keys)) {
            if let step = try compileNode(node, opsets: opsets) { steps.append(step) }
        }

        var outputs: [ExecutionPlan.Binding] = []
        for output in graph.output {
            guard let slot = slotByName[output.name] else {
                throw .invalidGraph("graph output \(output.name) is never produced")
            }
            let declaredShape = try? Self.tensorInfo(output, role: "output").shape
            let info = TensorInfo(
                name: output.name, elementType: slotTypes[slot],
                shape: zipMapLabels[slot].map { [-1, $0.count] } ?? declaredShape ?? nil,
                zipMapLabels: zipMapLabels[slot])
            outputs.append(.init(info: info, slot: slot))
        }
        guard !outputs.isEmpty else { throw .invalidGraph("the graph has no outputs") }

        for (slot, tensor) in constants { constantList.append(.init(slot: slot, tensor: tensor)) }
        return ExecutionPlan(
            slotCount: slotTypes.count, constants: constantList, inputs: inputs, outputs: outputs,
            steps: steps, weightBytes: weightBytes)
    }

    private mutating func newSlot(_ name: String, _ type: ElementType, rank: Int?) -> Int {
        let slot = slotTypes.count
        slotTypes.append(type)
        slotRanks.append(rank)
        if !name.isEmpty { slotByName[name] = slot }
        return slot
    }

    private mutating func compileNode(_ node: Onnx_NodeProto, opsets: [String: Int]) throws(ONNXError) -> ExecutionPlan.Step? {
        let label = node.name.isEmpty ? node.opType : "\(node.opType) '\(node.name)'"
        let domain = OperatorRegistry.canonicalDomain(node.domain)
        var inputSlots: [Int] = []
        var inputTypes: [ElementType?] = []
        var inputRanks: [Int?] = []
        for name in node.input {
            if name.isEmpty {
                inputSlots.append(-1)
                inputTypes.append(nil)
                inputRanks.append(nil)
                continue
            }
            guard let slot = slotByName[name] else { throw .invalidGraph("\(label): input \(name) is never produced") }
            inputSlots.append(slot)
            inputTypes.append(slotTypes[slot])
            inputRanks.append(slotRanks[slot])
        }
        let attributes = try AttributeReader(node, label: label)
        let context = NodeContext(
            node: node, label: label, opset: opsets[domain] ?? 1, attributes: attributes,
            inputTypes: inputTypes, inputRanks: inputRanks)

        if domain == OperatorRegistry.standardDomain && node.opType == "Constant" {
            let value = try ConstantFolding.value(of: context)
            try Self.rejectUnread(attributes, label: label)
            try defineOutput(node.output[0], label: label)
            let slot = newSlot(node.output[0], value.elementType, rank: value.shape.count)
            constants[slot] = value
            weightBytes += value.storage.allocatedBytes
            return nil
        }

        guard let factory = OperatorRegistry.factories[domain]?[node.opType] else {
            throw .unsupportedOperators(["\(domain):\(node.opType)"])
        }
        let compiled = try factory(context)
        try Self.rejectUnread(attributes, label: label)
        guard node.output.count <= compiled.outputTypes.count else {
            throw .invalidGraph("\(label) has \(node.output.count) outputs, the operator produces \(compiled.outputTypes.count)")
        }
        var outputSlots: [Int] = []
        for (i, type) in compiled.outputTypes.enumerated() {
            let name = i < node.output.count ? node.output[i] : ""
            if !name.isEmpty { try defineOutput(name, label: label) }
            let slot = newSlot(name, type, rank: i < compiled.outputRanks.count ? compiled.outputRanks[i] : nil)
            if let labels = compiled.zipMapLabels[i] { zipMapLabels[slot] = labels }
            outputSlots.append(slot)
        }
        weightBytes += compiled.kernel.constantBytes
        return ExecutionPlan.Step(kernel: compiled.kernel, inputs: inputSlots, outputs: outputSlots, label: label)
    }

    private func defineOutput(_ name: String, label: String) throws(ONNXError) {
        guard slotByName[name] == nil else {
            throw .invalidGraph("\(label): value \(name) is produced more than once")
        }
    }

    private static func rejectUnread(_ attributes: AttributeReader, label: String) throws(ONNXError) {
        let unread = attributes.unread
        guard unread.isEmpty else {
            throw .unsupportedFeature(node: label, detail: "attribute \(unread.joined(separator: ", "))")
        }
    }

    /// Fails with every operator outside the supported set, so one error names them all.
    static func checkOperators(_ graph: Onnx_GraphProto, opsets: [String: Int]) throws(ONNXError) {
        var unsupported = Set<String>()
        for node in graph.node {
            let domain = OperatorRegistry.canonicalDomain(node.domain)
            guard opsets[domain] != nil else {
                throw .invalidGraph("node \(node.opType) uses domain \(domain), which the model does not import")
            }
            if !OperatorRegistry.isSupported(domain: domain, opType: node.opType) {
                unsupported.insert("\(domain):\(node.opType)")
            }
        }
        if !unsupported.isEmpty { throw .unsupportedOperators(unsupported.sorted()) }
    }

    /// Reads a declared tensor input or output.
    static func tensorInfo(_ value: Onnx_ValueInfoProto, role: String) throws(ONNXError) -> TensorInfo {
        guard !value.name.isEmpty else { throw .invalidGraph("a graph \(role) has no name") }
        guard case .tensorType(let tensor)? = value.type.value else {
            throw .unsupportedFeature(node: "\(role) \(value.name)", detail: "non-tensor \(role)s")
        }
        guard let type = ElementType(rawValue: tensor.elemType) else {
            throw .malformedModel("\(role) \(value.name) has unknown element type \(tensor.elemType)")
        }
        var shape: [Int]?
        if tensor.hasShape {
            shape = []
            for dim in tensor.shape.dim {
                guard case .dimValue(let v)? = dim.value, v >= 0 else {
                    shape?.append(-1)
                    continue
                }
                // No request could match a larger dimension (see ``Shapes/maximumElements``).
                guard v <= Int64(Int32.max) else {
                    throw .malformedModel("\(role) \(value.name) declares dimension \(v) (dimensions are 0 to \(Int32.max))")
                }
                shape?.append(Int(v))
            }
        }
        return TensorInfo(name: value.name, elementType: type, shape: shape)
    }
}
