import Foundation
import Testing
@testable import ONNXEngine

/// Tree ensembles whose attributes are unusual or hostile: each computes as onnxruntime does
/// or is refused at load with a message naming the problem, and nothing writes out of bounds.
@Suite struct TreeEnsembleHostileTests {
    /// One row for each leaf.
    static func rows() throws -> ONNXTensor {
        try ONNXTensor(shape: [2, 1], floats: [0, 1])
    }

    @Test func oneClassEnsembleScoresItsOneClass() throws {
        // onnxruntime: scores of shape [N, 1] holding the summed weights, and the literal
        // label 1 for a positive score, 0 otherwise.
        let model = try ONNXModel(data: try TreeEnsembleBuilder.classifier(labels: [7]).model())
        for _ in 0..<2 {
            let out = try model.run(["x": try Self.rows()])
            #expect(out["scores"]?.shape == [2, 1])
            #expect(out["scores"]?.floats == [-1, 2])
            #expect(out["label"]?.int64s == [0, 1])
        }
    }

    @Test func oneClassEnsembleAddsItsBaseValue() throws {
        var builder = TreeEnsembleBuilder.classifier(labels: [7])
        builder.extra.append(ModelBuilder.floatsAttribute("base_values", [0.5]))
        let out = try ONNXModel(data: try builder.model()).run(["x": try Self.rows()])
        #expect(out["scores"]?.floats == [-0.5, 2.5])
        #expect(out["label"]?.int64s == [0, 1])
    }

    @Test func oneClassEnsembleAppliesOnlyProbit() throws {
        var builder = TreeEnsembleBuilder.classifier(labels: [7])
        builder.weights = [0.2, 0.9]
        builder.extra.append(ModelBuilder.stringAttribute("post_transform", "PROBIT"))
        var out = try ONNXModel(data: try builder.model()).run(["x": try Self.rows()])
        #expect(out["scores"]?.floats == [PostTransform.probit(0.2), PostTransform.probit(0.9)])
        #expect(out["label"]?.int64s == [1, 1])

        builder.extra[1] = ModelBuilder.stringAttribute("post_transform", "SOFTMAX")
        out = try ONNXModel(data: try builder.model()).run(["x": try Self.rows()])
        #expect(out["scores"]?.floats == [0.2, 0.9])
    }

    @Test func oneStringClassIsRefused() throws {
        var builder = TreeEnsembleBuilder()
        builder.extra = [ModelBuilder.stringsAttribute("classlabels_strings", ["only"])]
        #expect(throws: ONNXError.unsupportedFeature(
            node: "TreeEnsembleClassifier", detail: "a single string class label (a positive score has no label)")
        ) {
            try ONNXModel(data: try builder.model())
        }
    }

    @Test func zeroClassesAreRefused() throws {
        #expect(try TreeEnsembleBuilder().loadFailure() == "TreeEnsembleClassifier: needs class labels")
        #expect(try TreeEnsembleBuilder.classifier(labels: []).loadFailure() == "TreeEnsembleClassifier: needs class labels")
    }

    @Test func classIdsOutsideTheLabelsAreRefused() throws {
        for id: Int64 in [2, -1, .max] {
            var builder = TreeEnsembleBuilder.classifier(labels: [0, 1])
            builder.weightIds = [0, id]
            #expect(try builder.loadFailure() == "TreeEnsembleClassifier: class id \(id) is out of range 0..<2")
        }
        var one = TreeEnsembleBuilder.classifier(labels: [7])
        one.weightIds = [0, 1]
        #expect(try one.loadFailure() == "TreeEnsembleClassifier: class id 1 is out of range 0..<1")
    }

    @Test func targetIdsOutsideTheTargetsAreRefused() throws {
        var builder = TreeEnsembleBuilder.regressor(targets: 2)
        builder.weightIds = [0, 2]
        #expect(try builder.loadFailure() == "TreeEnsembleRegressor: target id 2 is out of range 0..<2")
    }

    @Test func targetCountsBeyondTheLimitAreRefused() throws {
        for targets in [0, -1, TreeEnsembleRegressorKernel.maximumTargets + 1, 1 << 40] {
            #expect(
                try TreeEnsembleBuilder.regressor(targets: targets).loadFailure()
                    == "TreeEnsembleRegressor: n_targets \(targets) is outside 1...\(TreeEnsembleRegressorKernel.maximumTargets)")
        }
    }

    @Test func childIdsThatNameNoNodeAreRefused() throws {
        for id: Int64 in [3, -1, .max, .min] {
            var trueChild = TreeEnsembleBuilder.classifier(labels: [0, 1])
            trueChild.trueIds = [id, 0, 0]
            var falseChild = TreeEnsembleBuilder.classifier(labels: [0, 1])
            falseChild.falseIds = [id, 0, 0]
            for builder in [trueChild, falseChild] {
                #expect(try builder.loadFailure() == "TreeEnsembleClassifier: node 0 of tree 0 points at a missing child")
            }
        }
        // A child in another tree is missing from this one.
        var otherTree = TreeEnsembleBuilder.classifier(labels: [0, 1])
        otherTree.treeIds = [0, 0, 1]
        otherTree.weightTreeIds = [0, 1]
        #expect(try otherTree.loadFailure() == "TreeEnsembleClassifier: node 0 of tree 0 points at a missing child")
    }

    @Test func loopsAndSharedNodesAreRefused() throws {
        var selfLoop = TreeEnsembleBuilder.classifier(labels: [0, 1])
        selfLoop.trueIds = [0, 0, 0]
        var shared = TreeEnsembleBuilder.classifier(labels: [0, 1])
        shared.modes = ["BRANCH_LEQ", "BRANCH_LEQ", "LEAF"]
        shared.trueIds = [1, 2, 0]
        shared.falseIds = [2, 2, 0]
        for builder in [selfLoop, shared] {
            #expect(try builder.loadFailure() == "TreeEnsembleClassifier: tree nodes form a cycle or are shared")
        }
    }

    @Test func weightsForMissingNodesAreRefused() throws {
        var builder = TreeEnsembleBuilder.classifier(labels: [0, 1])
        builder.weightNodeIds = [1, 9]
        #expect(try builder.loadFailure() == "TreeEnsembleClassifier: weight for missing node 9 of tree 0")
    }

    @Test func featureIdsAreCheckedAtLoadAndAgainstTheInput() throws {
        var negative = TreeEnsembleBuilder.classifier(labels: [0, 1])
        negative.featureIds = [-1, 0, 0]
        #expect(try negative.loadFailure() == "TreeEnsembleClassifier: negative feature id")
        var huge = TreeEnsembleBuilder.classifier(labels: [0, 1])
        huge.featureIds = [.max, 0, 0]
        #expect(try huge.loadFailure() == "TreeEnsembleClassifier: too many nodes or features")

        var beyond = TreeEnsembleBuilder.classifier(labels: [0, 1])
        beyond.featureIds = [3, 0, 0]
        let model = try ONNXModel(data: try beyond.model())
        #expect(throws: ONNXError.runtime("TreeEnsembleClassifier: the trees read feature 3, the input has 1")) {
            try model.run(["x": try Self.rows()])
        }
    }

    @Test func attributeListsOfDifferentLengthsAreRefused() throws {
        var builder = TreeEnsembleBuilder.classifier(labels: [0, 1])
        builder.falseIds = [2, 0]
        #expect(try builder.loadFailure() == "TreeEnsembleClassifier: node attributes have different lengths")
        var weights = TreeEnsembleBuilder.classifier(labels: [0, 1])
        weights.weights = [1]
        #expect(try weights.loadFailure() == "TreeEnsembleClassifier: class weight attributes have different lengths")
    }
}
