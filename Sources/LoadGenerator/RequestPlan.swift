import OpenInference
import OpenInferenceGRPC
import SwiftProtobuf

/// The requests a run sends: bodies prepared once (one REST body; one ModelInfer message per
/// model for gRPC targets), and the (target, model) pairs taken in turn or at random.
public struct RequestPlan: Sendable {
    public struct Destination: Sendable, Hashable {
        /// The REST infer URL, or the target itself for gRPC.
        public var url: String
        public var model: String
        /// Set when the request goes over gRPC.
        public var grpc: GRPCTarget?
    }

    public let destinations: [Destination]
    public let body: [UInt8]
    public let headers: [(String, String)]
    public let pick: LoadOptions.Pick
    /// Encoded `ModelInferRequest`s by model, for gRPC destinations.
    public let grpcMessages: [String: [UInt8]]

    /// The gRPC targets, each once.
    public var grpcTargets: [GRPCTarget] {
        var seen = Set<GRPCTarget>()
        return destinations.compactMap(\.grpc).filter { seen.insert($0).inserted }
    }

    public init(_ options: LoadOptions) {
        var destinations: [Destination] = []
        // Models vary fastest, so round-robin over many models spreads them over every target.
        for model in options.models {
            for target in options.targets {
                if let grpc = GRPCTarget(target) {
                    destinations.append(Destination(url: target, model: model, grpc: grpc))
                } else {
                    let base = target.hasSuffix("/") ? String(target.dropLast()) : target
                    destinations.append(Destination(url: "\(base)/v2/models/\(model)/infer", model: model))
                }
            }
        }
        self.destinations = destinations
        let values = (0..<options.tensorElements).map { Float($0 % 100) / 4 }
        let request = InferenceRequest(inputs: [Tensor(name: "INPUT0", shape: options.tensorShape ?? [options.tensorElements], floats: values)])
        var grpcMessages: [String: [UInt8]] = [:]
        if destinations.contains(where: { $0.grpc != nil }) {
            for model in options.models {
                grpcMessages[model] = (try? Inference_ModelInferRequest(request, modelName: model, raw: true).serializedBytes()) ?? []
            }
        }
        self.grpcMessages = grpcMessages
        let encoded = RESTEncoding.request(request, binary: options.binary)
        body = encoded.bytes
        if let length = encoded.jsonLength {
            headers = [("content-type", "application/octet-stream"), ("inference-header-content-length", String(length))]
        } else {
            headers = [("content-type", "application/json")]
        }
        pick = options.pick
    }

    /// The destination of request `index`.
    public func destination(_ index: Int, using random: inout some RandomNumberGenerator) -> Destination {
        switch pick {
        case .roundRobin: return destinations[index % destinations.count]
        case .random: return destinations[Int.random(in: 0..<destinations.count, using: &random)]
        }
    }
}
