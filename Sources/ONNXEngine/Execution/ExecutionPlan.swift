/// A checked, type-resolved, topologically ordered graph, ready to run.
struct ExecutionPlan: Sendable {
    struct Step: Sendable {
        let kernel: any Kernel
        /// Value slots read, -1 where an optional input is left out.
        let inputs: [Int]
        let outputs: [Int]
        /// `OpType 'name'`, for errors.
        let label: String
    }

    struct Binding: Sendable {
        let info: TensorInfo
        let slot: Int
    }

    struct Constant: Sendable {
        let slot: Int
        let tensor: ONNXTensor
    }

    var slotCount: Int
    var constants: [Constant]
    var inputs: [Binding]
    var outputs: [Binding]
    var steps: [Step]
    /// Initializers, Constant values and kernel tables.
    var weightBytes: Int

    /// Runs the steps in `workspace`, whose input slots the caller has filled.
    func execute(in workspace: Workspace) throws(ONNXError) {
        // Work on a local copy of the slot array (moved out, so no copy is made): a class's
        // stored array would pay a dynamic exclusivity check on every access.
        var values = workspace.values
        workspace.values = []
        defer { workspace.values = values }
        for step in steps {
            var arguments: [ONNXTensor?] = []
            arguments.reserveCapacity(step.inputs.count)
            for slot in step.inputs { arguments.append(slot < 0 ? nil : values[slot]) }
            var results: [ONNXTensor] = []
            results.reserveCapacity(step.outputs.count)
            for slot in step.outputs {
                // Move the previous run's tensor out so its buffer is uniquely referenced.
                results.append(values[slot])
                values[slot] = .empty
            }
            do {
                try step.kernel.run(arguments, &results)
            } catch {
                for (i, slot) in step.outputs.enumerated() { values[slot] = results[i] }
                throw Self.attribute(error, to: step.label)
            }
            for (i, slot) in step.outputs.enumerated() { values[slot] = results[i] }
        }
    }

    private static func attribute(_ error: ONNXError, to label: String) -> ONNXError {
        if case .runtime(let detail) = error { return .runtime("\(label): \(detail)") }
        return error
    }
}

/// The tensors of one run in flight. A workspace is used by one run at a time (the model's
/// pool hands it out exclusively), and keeps its intermediate buffers between runs.
final class Workspace: @unchecked Sendable {
    var values: [ONNXTensor]
    private let constantSlots: Set<Int>

    init(_ plan: ExecutionPlan) {
        values = [ONNXTensor](repeating: .empty, count: plan.slotCount)
        for constant in plan.constants { values[constant.slot] = constant.tensor }
        constantSlots = Set(plan.constants.map(\.slot))
    }

    func isConstant(_ slot: Int) -> Bool {
        constantSlots.contains(slot)
    }

    /// Bytes of the working buffers this workspace holds on to.
    var scratchBytes: Int {
        var total = 0
        for (slot, tensor) in values.enumerated() where !constantSlots.contains(slot) {
            total += tensor.storage.allocatedBytes
        }
        return total
    }
}
