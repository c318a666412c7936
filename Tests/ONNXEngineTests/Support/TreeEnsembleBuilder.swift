import Foundation
@testable import ONNXEngine

/// One small tree ensemble whose attributes a test changes before building the model: a root
/// that sends feature 0 ≤ 0.5 to leaf 1 and anything else to leaf 2, one weight per leaf.
struct TreeEnsembleBuilder {
    var op = "TreeEnsembleClassifier"
    var treeIds: [Int64] = [0, 0, 0]
    var nodeIds: [Int64] = [0, 1, 2]
    var featureIds: [Int64] = [0, 0, 0]
    var modes = ["BRANCH_LEQ", "LEAF", "LEAF"]
    var thresholds: [Float] = [0.5, 0, 0]
    var trueIds: [Int64] = [1, 0, 0]
    var falseIds: [Int64] = [2, 0, 0]
    var weightTreeIds: [Int64] = [0, 0]
    var weightNodeIds: [Int64] = [1, 2]
    var weightIds: [Int64] = [0, 0]
    var weights: [Float] = [-1, 2]
    /// Labels, base values, post_transform, n_targets.
    var extra: [Onnx_AttributeProto] = []

    static func classifier(labels: [Int64]) -> TreeEnsembleBuilder {
        var builder = TreeEnsembleBuilder()
        builder.extra = [ModelBuilder.intsAttribute("classlabels_int64s", labels)]
        return builder
    }

    static func regressor(targets: Int) -> TreeEnsembleBuilder {
        var builder = TreeEnsembleBuilder()
        builder.op = "TreeEnsembleRegressor"
        builder.extra = [ModelBuilder.intAttribute("n_targets", targets)]
        return builder
    }

    var isClassifier: Bool { op == "TreeEnsembleClassifier" }

    func model() throws -> Data {
        let prefix = isClassifier ? "class" : "target"
        let attributes = [
            ModelBuilder.intsAttribute("nodes_treeids", treeIds),
            ModelBuilder.intsAttribute("nodes_nodeids", nodeIds),
            ModelBuilder.intsAttribute("nodes_featureids", featureIds),
            ModelBuilder.stringsAttribute("nodes_modes", modes),
            ModelBuilder.floatsAttribute("nodes_values", thresholds),
            ModelBuilder.intsAttribute("nodes_truenodeids", trueIds),
            ModelBuilder.intsAttribute("nodes_falsenodeids", falseIds),
            ModelBuilder.intsAttribute("\(prefix)_treeids", weightTreeIds),
            ModelBuilder.intsAttribute("\(prefix)_nodeids", weightNodeIds),
            ModelBuilder.intsAttribute("\(prefix)_ids", weightIds),
            ModelBuilder.floatsAttribute("\(prefix)_weights", weights),
        ] + extra
        let outputs = isClassifier
            ? [ModelBuilder.tensorInfo("label", .int64, [-1]), ModelBuilder.tensorInfo("scores", .float, [-1, -1])]
            : [ModelBuilder.tensorInfo("scores", .float, [-1, -1])]
        return try ModelBuilder.model(
            nodes: [ModelBuilder.node(op, ["x"], outputs.map(\.name), domain: "ai.onnx.ml", attributes: attributes)],
            inputs: [ModelBuilder.tensorInfo("x", .float, [-1, 1])],
            outputs: outputs)
    }

    /// The message of the `invalidGraph` error loading the model fails with (any other error
    /// in full), or nil when it loads.
    func loadFailure() throws -> String? {
        let data = try model()
        do {
            _ = try ONNXModel(data: data)
            return nil
        } catch {
            guard case .invalidGraph(let message) = error else { return "other error: \(error)" }
            return message
        }
    }
}
