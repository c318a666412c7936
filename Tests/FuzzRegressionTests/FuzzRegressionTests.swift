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

    /// The seeds are the well-formed inputs the fuzzers start from: each decodes. (ONNX seeds
    /// include node tests of operators with features the engine refuses, so only load is asked.)
    @Test(arguments: FuzzInput.all("Seeds"))
    func seedsDecode(_ input: FuzzInput) throws {
        let outcome = input.target.run(try input.bytes())
        if input.target != .onnx {
            #expect(outcome.isAccepted, "\(outcome)")
        }
    }

    @Test func everyTargetHasSeeds() {
        let seeded = Set(FuzzInput.all("Seeds").map(\.target))
        #expect(seeded == Set(FuzzTarget.allCases))
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
