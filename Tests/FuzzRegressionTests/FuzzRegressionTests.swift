import Foundation
import FuzzTargets
import Testing

/// Every input a fuzzer ever crashed on, and every seed, through its target in the normal build:
/// a decoder that traps again fails here, in CI, without the sanitizer build.
@Suite struct FuzzRegressionTests {
    /// Crash inputs must now be refused cleanly, or accepted only with consistent values (the
    /// targets check their invariants and trap otherwise).
    @Test(arguments: FuzzInput.all("Regressions"))
    func regressionInputsNoLongerCrash(_ input: FuzzInput) throws {
        _ = input.target.run(try input.bytes())
    }

    /// The seeds are where the fuzzers start: none traps. Some are refusals on purpose (an etcd
    /// error body, a watch stream ending in compaction, ONNX node tests of features the engine
    /// refuses), so each target is only asked to accept some of its seeds.
    @Test(arguments: FuzzTarget.allCases)
    func seedsRunAndSomeDecode(_ target: FuzzTarget) throws {
        let seeds = FuzzInput.all("Seeds").filter { $0.target == target }
        #expect(!seeds.isEmpty, "no seeds for \(target)")
        var accepted = 0
        for seed in seeds {
            if target.run(try seed.bytes()).isAccepted { accepted += 1 }
        }
        #expect(accepted > 0, "none of \(target)'s \(seeds.count) seeds decodes")
    }

    /// Hostile shapes of each kind get an error, not a value.
    @Test(arguments: [
        (FuzzTarget.rest, #"{"inputs": [{"name": "x", "shape": [2147483648], "datatype": "FP32", "data": [1]}]}"#),
        (FuzzTarget.rest, #"{"inputs": []}"#),
        (FuzzTarget.gossip, #"{"entries": [{"report": {"peer": "p"}, "ageMillis": -1}]}"#),
        (FuzzTarget.etcd, #"{"kvs": [{"key": "not base64!"}]}"#),
        (FuzzTarget.onnx, "not a model"),
        (FuzzTarget.grpc, "\u{0A}\u{FF}"),
    ])
    func malformedInputsAreRefused(_ target: FuzzTarget, _ text: String) {
        #expect(!target.run(Array(text.utf8)).isAccepted)
    }
}
