import Benchmark
import MeshCore
import MeshGossip
import OpenInference
import OpenInferenceGRPC
import SwiftProtobuf

/// What a peer does per request beyond routing and the REST codec: a gRPC ModelInfer's model
/// name read from the message bytes (every gRPC request, hop or not), its decoding and the
/// response's encoding (a gRPC local hit), and the load report a hop's answer carries back
/// (every hop).
func requestPathBenchmarks() {
    let values = (0..<4).map { Float($0) / 8 }
    let request = InferenceRequest(inputs: [Tensor(name: "INPUT0", shape: [4], floats: values)])
    let message: [UInt8] = try! Inference_ModelInferRequest(request, modelName: "model-0", raw: true).serializedBytes()
    let response = InferenceResponse(modelName: "model-0", id: "1", outputs: [Tensor(name: "OUTPUT0", shape: [4], floats: values)])

    Benchmark("gRPC ModelInfer: the model name read from the bytes") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try ProtobufFieldScanner.string(field: 1, in: message))
        }
    }
    Benchmark("gRPC ModelInfer: request decoded, 4 FP32 raw") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try InferenceRequest(protobuf: Inference_ModelInferRequest(serializedBytes: message)))
        }
    }
    Benchmark("gRPC ModelInfer: response encoded, 4 FP32 raw") { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes: [UInt8] = try Inference_ModelInferResponse(response, raw: true).serializedBytes()
            blackHole(bytes)
        }
    }

    let report = LoadReport(peer: Fixtures.peer(1), time: Fixtures.now, inFlight: 3, loading: 0, usedBytes: 6 << 30, capacityBytes: 16 << 30,
                            modelCount: 40, lruTime: Fixtures.now - .seconds(90),
                            rates: (0..<4).map { LoadReport.ModelRate(model: Fixtures.model($0), perSecond: Double($0) * 10) })
    let piggybacked = GossipMessage([report], now: Fixtures.now).encoded()
    Benchmark("Hop: the load report on a hop's answer decoded", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(GossipMessage.reports(in: piggybacked, me: Fixtures.peer(0), now: Fixtures.now, maxAge: .seconds(10), limit: 8))
        }
    }
}
