@testable import ModelRuntimes
import Testing

/// The record a model keeps of how long its computations take (``ComputeCost``).
@Suite struct ComputeCostTests {
    struct Refused: Error {}

    @Test func knowsNothingUntilAComputationSucceeds() throws {
        let cost = ComputeCost()
        #expect(cost.expected(inputBytes: 16) == nil)
        // A request refused for bad input teaches nothing, however quick.
        #expect(throws: Refused.self) { try cost.measuring(inputBytes: 16) { throw Refused() } }
        #expect(cost.expected(inputBytes: 16) == nil)
        cost.observe(.milliseconds(300), inputBytes: 16)
        for _ in 0..<1000 {
            #expect(throws: Refused.self) { try cost.measuring(inputBytes: 16) { throw Refused() } }
        }
        #expect(cost.expected(inputBytes: 16) == .milliseconds(300))
    }

    @Test func aSlowerComputationCountsAtOnceAndFasterOnesGradually() {
        let cost = ComputeCost()
        cost.observe(.microseconds(10), inputBytes: 16)
        #expect(cost.expected(inputBytes: 16) == .microseconds(10))
        cost.observe(.milliseconds(8), inputBytes: 16)
        #expect(cost.expected(inputBytes: 16) == .milliseconds(8))
        cost.observe(.zero, inputBytes: 16)
        #expect(cost.expected(inputBytes: 16) == .milliseconds(7))
    }

    /// Per byte, a large batch of a small model is expected to take long; and a model that takes
    /// long for any input is not taken for a fast one because its large batches were cheap per byte.
    @Test func theLargerOfThePerComputationAndPerByteEstimatesCounts() {
        let small = ComputeCost()
        small.observe(.microseconds(16), inputBytes: 16)
        #expect(small.expected(inputBytes: 1_600_000) == .milliseconds(1600))
        let heavy = ComputeCost()
        heavy.observe(.milliseconds(20), inputBytes: 8)
        for _ in 0..<200 { heavy.observe(.milliseconds(20), inputBytes: 1 << 20) }
        #expect(heavy.expected(inputBytes: 8) == .milliseconds(20))
    }
}
