/// The trees of a TreeEnsembleClassifier or TreeEnsembleRegressor, flattened into arrays
/// indexed by node so that evaluation touches no dictionaries or pointers.
struct TreeTable: Sendable {
    enum Mode: UInt8 {
        case leaf, lessOrEqual, less, greaterOrEqual, greater, equal, notEqual

        init?(_ name: String) {
            switch name {
            case "LEAF": self = .leaf
            case "BRANCH_LEQ": self = .lessOrEqual
            case "BRANCH_LT": self = .less
            case "BRANCH_GTE": self = .greaterOrEqual
            case "BRANCH_GT": self = .greater
            case "BRANCH_EQ": self = .equal
            case "BRANCH_NEQ": self = .notEqual
            default: return nil
            }
        }
    }

    var modes: [Mode] = []
    var features: [Int] = []
    var thresholds: [Double] = []
    var trueChildren: [Int] = []
    var falseChildren: [Int] = []
    var missingGoesTrue: [Bool] = []
    /// Leaf weights of node i are `weightTargets/weightValues[weightStart[i] ..< weightStart[i + 1]]`.
    var weightStart: [Int] = []
    var weightTargets: [Int] = []
    var weightValues: [Double] = []
    var roots: [Int] = []
    var largestFeature = -1
    private(set) var packed: PackedNodes!
    /// Weights given as float attributes are summed in single precision, as onnxruntime
    /// does, so that ties (a probability of exactly 0.5) break the same way.
    var singlePrecision = true

    @inline(__always)
    func rounded(_ x: Double) -> Double {
        singlePrecision ? Double(Float(x)) : x
    }

    @inline(__always)
    func sum(_ a: Double, _ b: Double) -> Double {
        singlePrecision ? Double(Float(a) + Float(b)) : a + b
    }

    var byteSize: Int {
        // The attribute arrays plus their packed copy.
        modes.count * (1 + 8 * 5 + 1 + MemoryLayout<PackedNode>.stride) + weightTargets.count * 16 + roots.count * 8
    }

    /// Reads the node and weight attributes; `weightPrefix` is "target" or "class".
    init(_ context: NodeContext, weightPrefix: String, outputs: Int) throws(ONNXError) {
        let a = context.attributes
        func ints(_ name: String) throws(ONNXError) -> [Int] { (try a.ints(name) ?? []).map { Int($0) } }
        let treeIds = try ints("nodes_treeids")
        let nodeIds = try ints("nodes_nodeids")
        let featureIds = try ints("nodes_featureids")
        let trueIds = try ints("nodes_truenodeids")
        let falseIds = try ints("nodes_falsenodeids")
        let modeNames = try a.strings("nodes_modes") ?? []
        let missing = try ints("nodes_missing_value_tracks_true")
        let values = try Self.doubles(context, "nodes_values")
        a.ignore("nodes_hitrates", "nodes_hitrates_as_tensor")
        let n = nodeIds.count
        guard n > 0, [treeIds.count, featureIds.count, trueIds.count, falseIds.count, modeNames.count, values.count].allSatisfy({ $0 == n }),
            missing.isEmpty || missing.count == n
        else {
            throw context.invalid("node attributes have different lengths")
        }
        var index: [TreeNodeKey: Int] = [:]
        for i in 0..<n {
            guard index.updateValue(i, forKey: TreeNodeKey(tree: treeIds[i], node: nodeIds[i])) == nil else {
                throw context.invalid("node \(nodeIds[i]) of tree \(treeIds[i]) appears twice")
            }
        }
        var seenTrees = Set<Int>()
        for i in 0..<n {
            guard let mode = Mode(modeNames[i]) else { throw context.unsupported("node mode \(modeNames[i])") }
            modes.append(mode)
            features.append(featureIds[i])
            thresholds.append(values[i])
            missingGoesTrue.append(missing.isEmpty ? false : missing[i] != 0)
            if seenTrees.insert(treeIds[i]).inserted { roots.append(i) }
            if mode == .leaf {
                trueChildren.append(i)
                falseChildren.append(i)
                continue
            }
            guard featureIds[i] >= 0 else { throw context.invalid("negative feature id") }
            largestFeature = max(largestFeature, featureIds[i])
            guard let t = index[TreeNodeKey(tree: treeIds[i], node: trueIds[i])],
                let f = index[TreeNodeKey(tree: treeIds[i], node: falseIds[i])]
            else {
                throw context.invalid("node \(nodeIds[i]) of tree \(treeIds[i]) points at a missing child")
            }
            trueChildren.append(t)
            falseChildren.append(f)
        }
        guard n < Int(Int32.max), featureIds.allSatisfy({ $0 < Int(Int32.max) }) else {
            throw context.invalid("too many nodes or features")
        }
        try readWeights(context, prefix: weightPrefix, index: index, outputs: outputs)
        try checkAcyclic(context)
        packed = PackedNodes(self)
    }

    private mutating func readWeights(
        _ context: NodeContext, prefix: String, index: [TreeNodeKey: Int], outputs: Int
    ) throws(ONNXError) {
        let a = context.attributes
        let trees = (try a.ints("\(prefix)_treeids") ?? []).map { Int($0) }
        let nodes = (try a.ints("\(prefix)_nodeids") ?? []).map { Int($0) }
        let ids = (try a.ints("\(prefix)_ids") ?? []).map { Int($0) }
        let weights = try Self.doubles(context, "\(prefix)_weights")
        if case .double? = try context.attributes.tensor("\(prefix)_weights_as_tensor")?.storage { singlePrecision = false }
        guard trees.count == nodes.count, nodes.count == ids.count, ids.count == weights.count else {
            throw context.invalid("\(prefix) weight attributes have different lengths")
        }
        var perNode = [[(Int, Double)]](repeating: [], count: modes.count)
        for w in ids.indices {
            guard let node = index[TreeNodeKey(tree: trees[w], node: nodes[w])] else {
                throw context.invalid("weight for missing node \(nodes[w]) of tree \(trees[w])")
            }
            guard ids[w] >= 0, ids[w] < outputs else {
                throw context.invalid("\(prefix) id \(ids[w]) is out of range 0..<\(outputs)")
            }
            perNode[node].append((ids[w], weights[w]))
        }
        weightStart.reserveCapacity(modes.count + 1)
        for entries in perNode {
            weightStart.append(weightTargets.count)
            for (target, value) in entries {
                weightTargets.append(target)
                weightValues.append(value)
            }
        }
        weightStart.append(weightTargets.count)
    }

    /// Rejects trees whose child links loop, which would hang evaluation.
    private func checkAcyclic(_ context: NodeContext) throws(ONNXError) {
        var visited = [Bool](repeating: false, count: modes.count)
        for root in roots {
            var stack = [root]
            while let node = stack.popLast() {
                guard !visited[node] else { throw context.invalid("tree nodes form a cycle or are shared") }
                visited[node] = true
                if modes[node] != .leaf {
                    stack.append(trueChildren[node])
                    if falseChildren[node] != trueChildren[node] { stack.append(falseChildren[node]) }
                }
            }
        }
    }

    /// `name` as floats, or `name_as_tensor` (float or double) from opset 3.
    static func doubles(_ context: NodeContext, _ name: String) throws(ONNXError) -> [Double] {
        if let tensor = try context.attributes.tensor("\(name)_as_tensor") {
            switch tensor.storage {
            case .float(let v): return v.map { Double($0) }
            case .double(let v): return v
            default: throw context.unsupported("\(name)_as_tensor of type \(tensor.elementType)")
            }
        }
        return (try context.attributes.floats(name) ?? []).map { Double($0) }
    }

    /// The leaf reached in tree `root` for one row of features.
    @inline(__always)
    func leaf(from root: Int, _ feature: (Int) -> Double) -> Int {
        let nodes = packed.nodes
        var index = root
        while true {
            let node = nodes[index]
            if node.mode == .leaf { return index }
            let x = feature(Int(node.feature))
            let t = node.threshold
            let condition: Bool
            switch node.mode {
            case .lessOrEqual: condition = x <= t
            case .less: condition = x < t
            case .greaterOrEqual: condition = x >= t
            case .greater: condition = x > t
            case .equal: condition = x == t
            case .notEqual: condition = x != t
            case .leaf: condition = false
            }
            index = Int(condition || (node.missingGoesTrue && x.isNaN) ? node.trueChild : node.falseChild)
        }
    }
}

/// One node, laid out for the evaluation loop.
struct PackedNode {
    var threshold: Double
    var feature: Int32
    var trueChild: Int32
    var falseChild: Int32
    var mode: TreeTable.Mode
    var missingGoesTrue: Bool
}

/// The packed nodes in memory that is never written after construction, so evaluation reads
/// them through a plain pointer instead of an array with bounds and uniqueness checks.
final class PackedNodes: @unchecked Sendable {
    let nodes: UnsafeMutableBufferPointer<PackedNode>

    init(_ table: TreeTable) {
        nodes = .allocate(capacity: table.modes.count)
        for i in table.modes.indices {
            nodes[i] = PackedNode(
                threshold: table.thresholds[i], feature: Int32(truncatingIfNeeded: table.features[i]),
                trueChild: Int32(table.trueChildren[i]), falseChild: Int32(table.falseChildren[i]),
                mode: table.modes[i], missingGoesTrue: table.missingGoesTrue[i])
        }
    }

    deinit {
        nodes.deallocate()
    }
}

struct TreeNodeKey: Hashable {
    let tree: Int
    let node: Int
}

/// Runs `body(row, featureAt)` for each row of an ML feature input, reading features as Double.
@inline(__always)
func forEachFeatureRow(
    _ x: ONNXTensor, largestFeature: Int, _ body: (Int, (Int) -> Double) -> Void
) throws(ONNXError) -> Int {
    let (rows, columns): (Int, Int)
    switch x.shape.count {
    case 1: (rows, columns) = (1, x.shape[0])
    case 2: (rows, columns) = (x.shape[0], x.shape[1])
    default: throw .runtime("expected features of shape [N, C] or [C], got \(x.shape)")
    }
    guard largestFeature < columns else {
        throw .runtime("the trees read feature \(largestFeature), the input has \(columns)")
    }
    func visit<T: FeatureValue>(_ a: [T]) {
        a.withUnsafeBufferPointer { p in
            for r in 0..<rows {
                let base = r * columns
                body(r) { p[base + $0].featureValue }
            }
        }
    }
    switch x.storage {
    case .float(let a): visit(a)
    case .double(let a): visit(a)
    case .int64(let a): visit(a)
    case .int32(let a): visit(a)
    default: throw .runtime("expected numeric features, got \(x.elementType)")
    }
    return rows
}

/// Numeric feature types, read as Double for comparison with thresholds.
protocol FeatureValue {
    var featureValue: Double { get }
}

extension Float: FeatureValue { var featureValue: Double { Double(self) } }
extension Double: FeatureValue { var featureValue: Double { self } }
extension Int64: FeatureValue { var featureValue: Double { Double(self) } }
extension Int32: FeatureValue { var featureValue: Double { Double(self) } }
