import MeshCore
import Testing

@Suite struct VModelRulesTests {
    let now = MeshTime(millisecondsSinceEpoch: 1_800_000_000_000)

    func record(_ active: String, _ target: String? = nil, owner: String = "", failed: Bool = false) -> VModelRecord {
        VModelRecord(activeModel: model(active), targetModel: model(target ?? active), owner: owner, failed: failed,
                     failureMessage: failed ? "boom" : nil, updated: .epoch)
    }

    func set(_ target: String, owner: String = "", updateOnly: Bool = false, force: Bool = false, expected: String? = nil) -> VModelRules.SetRequest {
        VModelRules.SetRequest(vmodel: model("vm"), owner: owner, target: model(target), updateOnly: updateOnly, force: force,
                               expectedTarget: expected.map(model))
    }

    @Test func aNewVModelPointsAtItsTargetAndReferencesIt() throws {
        let change = try VModelRules.set(set("m1", owner: "ns"), current: nil, target: .registered, activeCopies: 0, targetLoadedCopies: 0, now: now)
        #expect(change.record == VModelRecord(activeModel: model("m1"), targetModel: model("m1"), owner: "ns", updated: now))
        #expect(change.references == [model("m1"): 1])
        #expect(change.released.isEmpty)
    }

    @Test func tagsAreSetOnCreationReplacedWhenGivenAndKeptWhenNot() throws {
        var request = set("m1")
        request.tags = ["team": "a"]
        let created = try VModelRules.set(request, current: nil, target: .registered, activeCopies: 0, targetLoadedCopies: 0, now: now)
        #expect(created.record?.tags == ["team": "a"])
        let current = try #require(created.record)
        #expect(try VModelRules.set(set("m1"), current: current, target: .registered, activeCopies: 0, targetLoadedCopies: 0, now: now).record == nil)
        request.tags = ["team": "b"]
        let retagged = try VModelRules.set(request, current: current, target: .registered, activeCopies: 0, targetLoadedCopies: 0, now: now)
        #expect(retagged.record?.tags == ["team": "b"])
        #expect(retagged.references.isEmpty)
        request.tags = [:]
        #expect(try VModelRules.set(request, current: current, target: .registered, activeCopies: 0, targetLoadedCopies: 0, now: now).record?.tags == nil)
    }

    @Test func aNewTargetWaitsUntilItHasAsManyLoadedCopiesAsTheActiveModelHasCopies() throws {
        let moving = try VModelRules.set(set("m2"), current: record("m1"), target: .registered, activeCopies: 2, targetLoadedCopies: 1, now: now)
        #expect(moving.record?.activeModel == model("m1") && moving.record?.targetModel == model("m2"))
        #expect(moving.references == [model("m2"): 1])

        let immediate = try VModelRules.set(set("m2"), current: record("m1"), target: .registered, activeCopies: 2, targetLoadedCopies: 2, now: now)
        #expect(immediate.record?.activeModel == model("m2") && immediate.record?.inTransition == false)
        #expect(immediate.references == [model("m1"): -1, model("m2"): 1])
        #expect(immediate.released == [model("m1")])

        // An active model without copies has nothing to keep serving: switch at once.
        let unloaded = try VModelRules.set(set("m2"), current: record("m1"), target: .registered, activeCopies: 0, targetLoadedCopies: 0, now: now)
        #expect(unloaded.record?.activeModel == model("m2"))
        let forced = try VModelRules.set(set("m2", force: true), current: record("m1"), target: .registered, activeCopies: 3, targetLoadedCopies: 0, now: now)
        #expect(forced.record?.activeModel == model("m2"))
    }

    @Test func changingTheTargetMidTransitionReleasesThePreviousTarget() throws {
        let change = try VModelRules.set(set("m3"), current: record("m1", "m2"), target: .created, activeCopies: 1, targetLoadedCopies: 0, now: now)
        #expect(change.record?.targetModel == model("m3") && change.record?.activeModel == model("m1"))
        #expect(change.references == [model("m2"): -1, model("m3"): 1])
        #expect(change.released == [model("m2")])
        // Back to the active model: the transition is cancelled.
        let back = try VModelRules.set(set("m1"), current: record("m1", "m2"), target: .registered, activeCopies: 1, targetLoadedCopies: 1, now: now)
        #expect(back.record?.inTransition == false && back.record?.activeModel == model("m1"))
        #expect(back.references == [model("m2"): -1])
    }

    @Test func askingAgainRetriesAFailedTransitionAndOtherwiseChangesNothing() throws {
        let retried = try VModelRules.set(set("m2"), current: record("m1", "m2", failed: true), target: .registered, activeCopies: 1, targetLoadedCopies: 0, now: now)
        #expect(retried.record?.failed == false && retried.record?.failureMessage == nil)
        #expect(retried.references.isEmpty)
        #expect(try VModelRules.set(set("m2"), current: record("m1", "m2"), target: .registered, activeCopies: 1, targetLoadedCopies: 0, now: now).record == nil)
        #expect(try VModelRules.set(set("m1"), current: record("m1"), target: .registered, activeCopies: 1, targetLoadedCopies: 1, now: now).record == nil)
    }

    @Test func refusalsCarryModelMeshCodes() {
        let cases: [(VModelRules.SetRequest, VModelRecord?, VModelRules.TargetState, MeshError)] = [
            (set("m1", updateOnly: true), nil, .registered, .notFound("vmodel vm not found")),
            (set("m9"), record("m1"), .missing, .notFound("target model m9 not found")),
            (set("m2", owner: "b"), record("m1", owner: "a"), .registered, .alreadyExists("vmodel vm already exists with a different owner \"a\"")),
            (set("m2", expected: "m0"), record("m1"), .registered, .failedPrecondition("the target of vmodel vm is m1, not the expected m0")),
            (set("m2", expected: "m1"), nil, .registered, .failedPrecondition("vmodel vm not found")),
        ]
        for (request, current, target, refusal) in cases {
            #expect(throws: refusal) {
                try VModelRules.set(request, current: current, target: target, activeCopies: 0, targetLoadedCopies: 0, now: now)
            }
        }
        // expectedTarget equal to the requested target may create the vmodel.
        #expect((try? VModelRules.set(set("m2", expected: "m2"), current: nil, target: .registered, activeCopies: 0, targetLoadedCopies: 0, now: now))?.record != nil)
    }

    @Test func unreferencedModelsAreRetiredOnlyWhenCreatedForAVModelOrAskedTo() {
        var created = modelRecord()
        created.references = 1
        created.autoDelete = true
        #expect(VModelRules.apply(-1, to: created, retireUnreferenced: false) == nil)
        var plain = modelRecord()
        plain.references = 1
        #expect(VModelRules.apply(-1, to: plain, retireUnreferenced: false)?.references == 0)
        #expect(VModelRules.apply(-1, to: plain, retireUnreferenced: true) == nil)
        plain.references = 2
        #expect(VModelRules.apply(-1, to: plain, retireUnreferenced: true)?.references == 1)
        #expect(VModelRules.apply(1, to: plain, retireUnreferenced: true)?.references == 3)
    }

    @Test func completingAndDeletingReleaseReferences() {
        let moving = record("m1", "m2")
        let completed = VModelRules.complete(moving, now: now)
        #expect(completed.record?.activeModel == model("m2") && completed.record?.inTransition == false)
        #expect(completed.references == [model("m1"): -1])
        #expect(VModelRules.complete(record("m1"), now: now).record == nil)
        #expect(VModelRules.delete(moving) == [model("m1"): -1, model("m2"): -1])
        #expect(VModelRules.delete(record("m1")) == [model("m1"): -1])
    }

    @Test func transitionStepsGrowTheTargetToTheActiveModelsCopyCount() {
        func copies(_ states: [String: CopyRecord.State]) -> [PeerID: CopyRecord] {
            states.reduce(into: [:]) { $0[peer($1.key)] = CopyRecord(state: $1.value, since: .epoch, sizeBytes: 1) }
        }
        let active = copies(["a": .loaded, "b": .loaded])
        #expect(VModelRules.nextStep(activeCopies: active, targetCopies: [:], placementExhausted: false) == .addCopy(excluding: []))
        #expect(VModelRules.nextStep(activeCopies: active, targetCopies: copies(["c": .loading]), placementExhausted: false)
            == .addCopy(excluding: [peer("c")]))
        #expect(VModelRules.nextStep(activeCopies: active, targetCopies: copies(["c": .loading, "a": .loaded]), placementExhausted: false) == .waitForLoads)
        #expect(VModelRules.nextStep(activeCopies: active, targetCopies: copies(["c": .loaded, "a": .loaded]), placementExhausted: false) == .complete)
        #expect(VModelRules.nextStep(activeCopies: [:], targetCopies: [:], placementExhausted: false) == .complete)
        // Fewer peers than copies wanted: go on with what could be placed, once loaded.
        #expect(VModelRules.nextStep(activeCopies: active, targetCopies: copies(["c": .loading]), placementExhausted: true) == .waitForLoads)
        #expect(VModelRules.nextStep(activeCopies: active, targetCopies: copies(["c": .loaded]), placementExhausted: true) == .complete)
        #expect(VModelRules.nextStep(activeCopies: active, targetCopies: [:], placementExhausted: true) == .stalled)
    }

    @Test func everyPeerAgreesOnTheDriverAndItMovesOnlyWhenItsPeerLeaves() {
        let peers = ["mesh-0", "mesh-1", "mesh-2", "mesh-3"].map(peer)
        let vmodels = (0..<200).map { model("vm-\($0)") }
        let drivers = vmodels.map { VModelRules.driver(of: $0, among: peers)! }
        #expect(drivers == vmodels.map { VModelRules.driver(of: $0, among: peers.reversed())! })
        #expect(Set(drivers).count == 4)
        let remaining = Array(peers.dropLast())
        for (vmodel, driver) in zip(vmodels, drivers) where driver != peers.last {
            #expect(VModelRules.driver(of: vmodel, among: remaining) == driver)
        }
        #expect(VModelRules.driver(of: model("vm"), among: [PeerID]()) == nil)
    }
}
