import MeshCore
import Testing

@Suite struct TagsTests {
    @Test func kubernetesLabelKeysAndPlainValuesAreAccepted() throws {
        try Tags.validate(["team": "search", "app.kubernetes.io/managed-by": "meshctl", "tier": ""])
    }

    @Test func badKeysValuesAndCountsAreRefusedWithTheRule() throws {
        for tags in [["": "x"], ["-team": "x"], ["team/": "x"], ["té": "x"], ["a b": "x"], [String(repeating: "k", count: 129): "x"]] {
            #expect(throws: MeshError.invalidArgument("tag key \"\(TextLimit.clip(tags.keys.first!))\" must be 1 to 128 letters, digits, '.', '_', '-' or '/', beginning and ending with a letter or digit")) {
                try Tags.validate(tags)
            }
        }
        #expect(throws: MeshError.self) { try Tags.validate(["team": "a\nb"]) }
        #expect(throws: MeshError.self) { try Tags.validate(["team": String(repeating: "é", count: 257)]) }
        try Tags.validate(["team": String(repeating: "é", count: 256)])
        let many = Dictionary(uniqueKeysWithValues: (0...Tags.maxCount).map { ("k\($0)", "v") })
        #expect(throws: MeshError.invalidArgument("at most 64 tags, not 65")) { try Tags.validate(many) }
    }

    @Test func aSelectorMatchesTagsThatHaveEveryPair() {
        #expect(Tags.matches(["team": "search", "env": "prod"], selector: ["team": "search"]))
        #expect(Tags.matches(["team": "search"], selector: [:]))
        #expect(!Tags.matches(["team": "search"], selector: ["team": "ads"]))
        #expect(!Tags.matches([:], selector: ["team": "search"]))
    }

    @Test func anUpdateReplacesTagsAndClearsLimits() throws {
        let record = ModelRecord(type: "onnx", storage: .uri("m.onnx"), minCopies: 1, maxCopies: 3, scaleUpRequestsPerSecond: 50,
                                 created: .epoch, tags: ["team": "a", "old": "x"])
        let updated = try ModelRegistration.update(record, .init(tags: ["team": "b"], clearing: [.maxCopies, .scaleUpRequestsPerSecond]))
        #expect(updated.tags == ["team": "b"])
        #expect(updated.maxCopies == nil)
        #expect(updated.scaleUpRequestsPerSecond == nil)
        #expect(updated.minCopies == 1)
        #expect(throws: MeshError.self) { try ModelRegistration.update(record, .init(tags: ["bad key": "x"])) }
        // Tags are metadata: the definition is the same.
        #expect(updated.sameDefinition(as: ModelRecord(type: "onnx", storage: .uri("m.onnx"), minCopies: 1, created: .epoch)))
    }
}
