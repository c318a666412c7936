/// Orders a graph's nodes so every input is produced before use.
///
/// Files should already be sorted, but the format's checker is not always run by exporters.
/// Sorting takes time linear in the graph's size: repeated passes over the pending nodes
/// would take quadratic time on a long chain stored backwards, which a hostile file can make
/// long enough to stall a load.
enum TopologicalOrder {
    static func sort(_ nodes: [Onnx_NodeProto], available: Set<String>) throws(ONNXError) -> [Onnx_NodeProto] {
        if isSorted(nodes, available: available) { return nodes }
        // Kahn's algorithm: each node waits for its distinct missing inputs.
        var waiting = [Int](repeating: 0, count: nodes.count)
        var consumers: [String: [Int]] = [:]
        for (index, node) in nodes.enumerated() {
            for name in Set(node.input) where !name.isEmpty && !available.contains(name) {
                waiting[index] += 1
                consumers[name, default: []].append(index)
            }
        }
        var ready = nodes.indices.filter { waiting[$0] == 0 }
        var produced = available
        var next = 0
        while next < ready.count {
            let node = nodes[ready[next]]
            next += 1
            for name in node.output where !name.isEmpty && produced.insert(name).inserted {
                for consumer in consumers[name] ?? [] {
                    waiting[consumer] -= 1
                    if waiting[consumer] == 0 { ready.append(consumer) }
                }
            }
        }
        guard ready.count == nodes.count else {
            let node = nodes[nodes.indices.first { waiting[$0] > 0 } ?? 0]
            let missing = node.input.first { !$0.isEmpty && !produced.contains($0) } ?? "?"
            let label = node.name.isEmpty ? node.opType : "\(node.opType) '\(node.name)'"
            throw .invalidGraph("\(label): input \(missing) is never produced (or the graph has a cycle)")
        }
        return ready.map { nodes[$0] }
    }

    /// Whether the file's own order already works (the usual case, kept as is).
    private static func isSorted(_ nodes: [Onnx_NodeProto], available: Set<String>) -> Bool {
        var produced = available
        for node in nodes {
            guard node.input.allSatisfy({ $0.isEmpty || produced.contains($0) }) else { return false }
            for name in node.output where !name.isEmpty { produced.insert(name) }
        }
        return true
    }
}
