import OpenInference
import OpenInferenceGRPC

/// gRPC `ModelInfer` messages: the routing scan every peer on the way does, then the decoding
/// the serving peer does (`InferenceService.infer`). Input: the serialized message.
enum GRPCTarget {
    static func run(_ input: [UInt8]) -> FuzzOutcome {
        do {
            _ = try ProtobufFieldScanner.string(field: 1, in: input)
        } catch {
            return .refused("routing scan: \(error)")
        }
        // Clients decode responses the same way.
        let response = (try? Inference_ModelInferResponse(serializedBytes: input)).flatMap { try? InferenceResponse(protobuf: $0) }
        let message: Inference_ModelInferRequest
        do {
            message = try Inference_ModelInferRequest(serializedBytes: input)
        } catch {
            return response == nil ? .refused("protobuf: \(error)") : .accepted
        }
        do {
            let request = try InferenceRequest(protobuf: message)
            checkTensorsFillTheirShapes(request)
            return .accepted
        } catch {
            return response == nil ? .refused("\(error)") : .accepted
        }
    }
}
