import MeshCore
import MeshManifests
import OpenInference
import Testing

@Suite struct ApplyPlannerTests {
    let source = ManifestSource(file: "f.yaml", line: 1)
    let spec = ModelSpec(type: "onnx", storage: .uri("s3://b/m.onnx"), minCopies: 1)

    func model(_ id: String = "m", spec: ModelSpec? = nil, tags: [String: String] = [:]) -> DesiredObject {
        .model(DesiredModel(id: id, spec: spec ?? self.spec, tags: tags, source: source))
    }

    @Test func aNewModelIsRegisteredWithEveryField() {
        let steps = ApplyPlanner.plan([model(tags: ["team": "a"])], live: LiveState())
        #expect(steps.map(\.action) == [.create])
        #expect(steps[0].request == PlannedRequest(method: "POST", path: "/v1/models", body: .object([
            ("id", .string("m")), ("type", .string("onnx")), ("storage", .object([("uri", .string("s3://b/m.onnx"))])),
            ("minCopies", .int(1)), ("tags", .object([("team", .string("a"))])),
        ])))
    }

    @Test func applyingWhatTheMeshHoldsChangesNothing() {
        let live = LiveState(models: [LiveModel(id: "m", spec: spec, tags: ["team": "a"])])
        #expect(ApplyPlanner.plan([model(tags: ["team": "a"])], live: live).map(\.action) == [.unchanged])
    }

    @Test func changedLimitsAndTagsArePatchedAndARemovedLimitIsNull() {
        let live = LiveState(models: [LiveModel(id: "m", spec: ModelSpec(type: "onnx", storage: .uri("s3://b/m.onnx"), minCopies: 0, maxCopies: 3), tags: ["team": "a"])])
        let step = ApplyPlanner.plan([model(tags: ["team": "b"])], live: live)[0]
        #expect(step.action == .configure)
        #expect(step.changes == ["minCopies: 0 → 1", "maxCopies: 3 → (none)", "tags: team=a → team=b"])
        #expect(step.request == PlannedRequest(method: "PATCH", path: "/v1/models/m", body: .object([
            ("minCopies", .int(1)), ("maxCopies", .null), ("tags", .object([("team", .string("b"))])),
        ])))
    }

    @Test func aChangedStorageOfAPlainModelIsAConflictThatSaysWhatToDo() {
        let live = LiveState(models: [LiveModel(id: "m", spec: ModelSpec(type: "onnx", storage: .uri("s3://b/old.onnx"), minCopies: 1))])
        let step = ApplyPlanner.plan([model()], live: live)[0]
        #expect(step.action == .conflict)
        #expect(step.request == nil)
        #expect(step.changes == ["storage: s3://b/old.onnx → s3://b/m.onnx"])
        #expect(step.problem?.contains("declare a VModel with an inline model") == true)
    }

    @Test func anInferenceServiceWithNewStorageMovesItsVModelToANewModel() {
        let old = ModelSpec(type: "onnx", storage: .uri("s3://b/v1.onnx"))
        let new = ModelSpec(type: "onnx", storage: .uri("s3://b/v2.onnx"))
        let desired = DesiredVModel(id: "isvc", target: .inline(new), owner: "isvc", loadNow: true, source: source)
        let oldID = DesiredVModel(id: "isvc", target: .inline(old), owner: "isvc", source: source).targetModelID
        let live = LiveState(vmodels: [LiveVModel(id: "isvc", owner: "isvc", activeModel: oldID)])
        let step = ApplyPlanner.plan([.vmodel(desired)], live: live)[0]
        #expect(step.action == .configure)
        #expect(step.changes == ["targetModel: \(oldID) → \(desired.targetModelID) (requests move once it is loaded)"])
        #expect(step.request?.method == "PUT")
        #expect(step.request?.body?["model"]?["storage"]?["uri"] == .string("s3://b/v2.onnx"))
        #expect(step.request?.body?["targetModel"] == .string(desired.targetModelID))
        #expect(step.request?.body?["loadNow"] == .bool(true))
        // Once it points there, applying again changes nothing, even mid-transition.
        let moving = LiveState(vmodels: [LiveVModel(id: "isvc", owner: "isvc", activeModel: oldID, targetModel: desired.targetModelID, status: "TRANSITIONING")])
        #expect(ApplyPlanner.plan([.vmodel(desired)], live: moving).map(\.action) == [.unchanged])
    }

    @Test func aVModelOfAnotherOwnerOrWithAMissingTargetIsAConflict() {
        let desired = DesiredVModel(id: "v", target: .model("m"), owner: "isvc", source: source)
        let owned = LiveState(models: [LiveModel(id: "m", spec: spec)], vmodels: [LiveVModel(id: "v", owner: "someone", activeModel: "m")])
        #expect(ApplyPlanner.plan([.vmodel(desired)], live: owned).first?.problem == "the vmodel exists with owner \"someone\", not \"isvc\"")
        #expect(ApplyPlanner.plan([.vmodel(desired)], live: LiveState()).first?.problem == "its target model m is neither declared in the files nor registered")
        // Declared in the same files: fine.
        #expect(ApplyPlanner.plan([model(), .vmodel(desired)], live: LiveState()).map(\.action) == [.create, .create])
    }

    @Test func pruneRemovesOnlyTaggedObjectsTheFilesNoLongerDeclare() {
        let live = LiveState(
            models: [
                LiveModel(id: "m", spec: spec, tags: ["team": "a"]),
                LiveModel(id: "gone", spec: spec, tags: ["team": "a"]),
                LiveModel(id: "other-team", spec: spec, tags: ["team": "b"]),
                LiveModel(id: "untagged", spec: spec),
                LiveModel(id: "still-used", spec: spec, tags: ["team": "a"]),
                LiveModel(id: "v-old__isvc-0123456789", spec: spec, autoDelete: true),
            ],
            vmodels: [
                LiveVModel(id: "v-old", owner: "isvc", activeModel: "v-old__isvc-0123456789", tags: ["team": "a"]),
                LiveVModel(id: "keeps", activeModel: "still-used", tags: ["team": "b"]),
            ]
        )
        let steps = ApplyPlanner.plan([model(tags: ["team": "a"])], live: live, prune: ["team": "a"])
        let byName = Dictionary(uniqueKeysWithValues: steps.map { ($0.name, $0) })
        #expect(steps.map(\.name) == ["model/m", "vmodel/v-old", "model/gone", "model/still-used"])
        #expect(byName["vmodel/v-old"]?.request == PlannedRequest(method: "DELETE", path: "/v1/vmodels/v-old"))
        #expect(byName["model/gone"]?.request == PlannedRequest(method: "DELETE", path: "/v1/models/gone"))
        #expect(byName["model/still-used"]?.action == .conflict)
        #expect(byName["model/still-used"]?.problem == "not pruned: vmodel/keeps points at it")
        // Without a selector nothing is pruned.
        #expect(ApplyPlanner.plan([model(tags: ["team": "a"])], live: live).count == 1)
    }

    @Test func readinessFollowsAvailabilityAndTheCopiesAModelMustKeep() {
        #expect(ReadyCondition.model(LiveModel(id: "m", spec: spec, status: "LOADED")) == ReadyCondition(status: "True", reason: "Loaded"))
        #expect(ReadyCondition.model(LiveModel(id: "m", spec: spec, status: "NOT_LOADED")) == ReadyCondition(status: "False", reason: "Pending"))
        let onDemand = ModelSpec(type: "onnx", storage: .uri("m.onnx"))
        #expect(ReadyCondition.model(LiveModel(id: "m", spec: onDemand, status: "NOT_LOADED")) == ReadyCondition(status: "True", reason: "Standby"))
        #expect(ReadyCondition.model(LiveModel(id: "m", spec: onDemand, status: "LOADING_FAILED")) == ReadyCondition(status: "False", reason: "FailedToLoad"))
        let moving = LiveVModel(id: "v", activeModel: "a", targetModel: "b", status: "TRANSITIONING", activeModelStatus: "LOADED")
        #expect(ReadyCondition.vmodel(moving) == ReadyCondition(status: "True", reason: "Transitioning"))
    }

    @Test func liveObjectsWrittenAsYAMLApplyBackUnchanged() throws {
        let models = [LiveModel(id: "true", spec: ModelSpec(type: "onnx", storage: .keyed(key: "k", path: "0123", parameters: ["bucket": "b"]),
                                                              sizeHintBytes: 10, minCopies: 1, maxCopies: 2, labels: ["gpu"], scaleUpRequestsPerSecond: 2.5),
                                tags: ["team": "null"], status: "LOADED")]
        let vmodels = [LiveVModel(id: "v", owner: "o", activeModel: "true", autoDeleteOldModel: true, tags: ["team": "a"])]
        let yaml = try ManifestWriter.yaml(models: models, vmodels: vmodels)
        let objects = try ManifestParser.objects(in: yaml, file: "get.yaml")
        let steps = ApplyPlanner.plan(objects, live: LiveState(models: models, vmodels: vmodels))
        #expect(steps.map(\.action) == [.unchanged, .unchanged], "\(yaml)")
        #expect(yaml.contains("ready: \"True\""))
    }
}
