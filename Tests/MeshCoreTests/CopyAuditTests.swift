import MeshCore
import Testing

@Suite struct CopyAuditTests {
    @Test func aDifferenceIsActedOnOnlyWhenTheNextRoundStillSeesIt() {
        var audit = CopyAudit()
        let a = model("a"), b = model("b")
        // Round one: a record without a copy, a copy without a record; both only suspected.
        #expect(audit.review(recorded: [a], holding: [b], settling: []).isEmpty)
        // Round two: still there, so both are findings.
        #expect(audit.review(recorded: [a], holding: [b], settling: []) == [.orphanRecord(a), .missingRecord(b)])
    }

    @Test func aDifferenceThatResolvesItselfIsForgotten() {
        var audit = CopyAudit()
        let a = model("a")
        #expect(audit.review(recorded: [], holding: [a], settling: []).isEmpty)
        // The record write that was in flight landed.
        #expect(audit.review(recorded: [a], holding: [a], settling: []).isEmpty)
        // A new difference starts its count again.
        #expect(audit.review(recorded: [], holding: [a], settling: []).isEmpty)
        #expect(audit.review(recorded: [], holding: [a], settling: []) == [.missingRecord(a)])
    }

    @Test func copiesBeingClaimedOrDrainedAreLeftAlone() {
        var audit = CopyAudit()
        let claiming = model("claiming"), draining = model("draining")
        for _ in 0..<3 {
            #expect(audit.review(recorded: [claiming, draining], holding: [], settling: [claiming, draining]).isEmpty)
            #expect(audit.review(recorded: [], holding: [], settling: [claiming]).isEmpty)
        }
    }

    @Test func agreementFindsNothing() {
        var audit = CopyAudit()
        let models: Set<ModelID> = [model("a"), model("b"), model("c")]
        for _ in 0..<3 { #expect(audit.review(recorded: models, holding: models, settling: []).isEmpty) }
    }
}
