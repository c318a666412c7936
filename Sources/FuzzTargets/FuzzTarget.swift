/// A decoder a peer runs on bytes it did not make, as a function of those bytes.
///
/// Fuzz/ builds each into a libFuzzer executable (`tools/fuzz NAME SECONDS`), and
/// FuzzRegressionTests replays the seeds and every input a fuzzer ever crashed on through the
/// same function in the normal build. No input may trap; most are refused with an error.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// REST inference bodies: JSON, and JSON followed by the binary tensor extension.
    case rest
    /// gRPC `ModelInfer` request messages.
    case grpc
    /// Gossiped load reports (POST bodies and `mm-load` headers).
    case gossip
    /// etcd JSON gateway answers: range, put, delete and txn responses, errors, watch streams.
    case etcd
    /// ONNX model files, loaded with the load-time checks and run once on zeros.
    case onnx

    /// Runs the target on one input.
    public func run(_ input: [UInt8]) -> FuzzOutcome {
        switch self {
        case .rest: RESTTarget.run(input)
        case .grpc: GRPCTarget.run(input)
        case .gossip: GossipTarget.run(input)
        case .etcd: EtcdTarget.run(input)
        case .onnx: ONNXTarget.run(input)
        }
    }
}

/// What a target made of an input.
public enum FuzzOutcome: Sendable, Equatable {
    /// Decoded (and, where the target checks, consistent).
    case accepted
    /// Refused with an error, which is what most inputs should get.
    case refused(String)

    public var isAccepted: Bool { self == .accepted }
}

/// A decoded value broke an invariant the decoder promises: a bug even though nothing trapped.
/// Targets trap on it so the fuzzer reports the input.
func invariant(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("fuzz invariant broken: \(message())") }
}
