import Benchmark
import OpenInference

func codecBenchmarks() {
    for elements in [4, 1_000] {
        let values = (0..<elements).map { Float($0) / 8 }
        let request = InferenceRequest(inputs: [Tensor(name: "INPUT0", shape: [elements], floats: values)])
        let json = RESTEncoding.request(request).bytes
        let response = InferenceResponse(modelName: "m", id: "1", outputs: [Tensor(name: "OUTPUT0", shape: [elements], floats: values)])
        let scale: BenchmarkScalingFactor = elements > 100 ? .one : .kilo

        Benchmark("RESTDecoding.request JSON, \(elements) FP32", configuration: .init(scalingFactor: scale)) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try RESTDecoding.request(json))
            }
        }
        Benchmark("RESTEncoding.response JSON, \(elements) FP32", configuration: .init(scalingFactor: scale)) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(RESTEncoding.response(response, for: request))
            }
        }
    }
}
