import MeshCore
import Testing

@Suite struct LatencyEstimatorTests {
    let floor = Duration.milliseconds(200), ceiling = Duration.seconds(1)

    @Test func withoutSamplesTheBudgetIsTheCeiling() {
        #expect(LatencyEstimator().budget(floor: floor, ceiling: ceiling) == ceiling)
    }

    @Test func fastSteadyAnswersGetTheFloor() {
        var estimator = LatencyEstimator()
        for _ in 0..<20 { estimator.observe(.milliseconds(2)) }
        #expect(estimator.budget(floor: floor, ceiling: ceiling) == floor)
    }

    @Test func slowAnswersRaiseTheBudgetUpToTheCeiling() {
        var estimator = LatencyEstimator()
        for _ in 0..<20 { estimator.observe(.milliseconds(300)) }
        let steady = estimator.budget(floor: floor, ceiling: ceiling)
        #expect(steady > .milliseconds(300))
        #expect(steady < ceiling)
        for _ in 0..<20 { estimator.observe(.seconds(5)) }
        #expect(estimator.budget(floor: floor, ceiling: ceiling) == ceiling)
    }

    /// Jitter widens the budget beyond the mean: a sometimes-slow model is not taken for frozen.
    @Test func variationWidensTheBudget() {
        var steady = LatencyEstimator(), jittery = LatencyEstimator()
        for index in 0..<40 {
            steady.observe(.milliseconds(100))
            jittery.observe(.milliseconds(index % 2 == 0 ? 20 : 180))
        }
        let high = Duration.seconds(10)
        #expect(jittery.budget(floor: .zero, ceiling: high) > steady.budget(floor: .zero, ceiling: high))
        #expect(steady.budget(floor: .zero, ceiling: high) < .milliseconds(110))
    }
}
