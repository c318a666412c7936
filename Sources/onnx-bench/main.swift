// Times ONNXEngine on one model for tools/bench-onnx.
//
//   onnx-bench MODEL.onnx FIXTURE.json BATCH [BATCH...]
//
// The fixture's first input rows are repeated to fill each batch. Prints one line per batch:
// `batch=<n> p50_us=<median> p90_us=<p90> runs=<count>`.
import Foundation
import ONNXEngine

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count >= 4 else { fail("usage: onnx-bench MODEL.onnx FIXTURE.json BATCH [BATCH...]") }
let model: ONNXModel
do {
    model = try ONNXModel(contentsOf: URL(fileURLWithPath: arguments[1]))
} catch {
    fail("cannot load \(arguments[1]): \(error)")
}
guard let fixtureData = try? Data(contentsOf: URL(fileURLWithPath: arguments[2])),
    let fixture = try? JSONSerialization.jsonObject(with: fixtureData) as? [String: Any],
    let inputs = fixture["inputs"] as? [String: [String: Any]]
else { fail("cannot read fixture \(arguments[2])") }

/// The fixture tensor with its rows repeated to `batch` rows.
func tiled(_ entry: [String: Any], batch: Int) -> ONNXTensor {
    guard let type = entry["type"] as? String, let shape = entry["shape"] as? [Int], let data = entry["data"] as? [Any],
        let rows = shape.first, rows > 0
    else { fail("bad fixture tensor") }
    let width = data.count / rows
    var newShape = shape
    newShape[0] = batch
    let indices = (0..<batch).flatMap { b in ((b % rows) * width)..<((b % rows + 1) * width) }
    func number(_ v: Any) -> Double { (v as? NSNumber)?.doubleValue ?? .nan }
    do {
        switch type {
        case "float": return try ONNXTensor(shape: newShape, floats: indices.map { Float(number(data[$0])) })
        case "double": return try ONNXTensor(shape: newShape, doubles: indices.map { number(data[$0]) })
        case "int64": return try ONNXTensor(shape: newShape, int64s: indices.map { Int64(number(data[$0])) })
        case "string": return try ONNXTensor(shape: newShape, strings: indices.map { "\(data[$0])" })
        default: fail("unsupported input type \(type)")
        }
    } catch {
        fail("\(error)")
    }
}

for batchArgument in arguments[3...] {
    guard let batch = Int(batchArgument), batch > 0 else { fail("bad batch size \(batchArgument)") }
    let request = inputs.mapValues { tiled($0, batch: batch) }
    do {
        // Warm up until buffers settle, then time individual runs for about a second.
        for _ in 0..<200 { _ = try model.run(request) }
        var samples: [Double] = []
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(1))
        while samples.count < 200_000 && (samples.count < 200 || clock.now < deadline) {
            let start = clock.now
            _ = try model.run(request)
            let elapsed = clock.now - start
            samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
        }
        samples.sort()
        let p50 = samples[samples.count / 2]
        let p90 = samples[samples.count * 9 / 10]
        print(String(format: "batch=%d p50_us=%.2f p90_us=%.2f runs=%d resident_bytes=%d", batch, p50, p90, samples.count, model.residentBytes))
    } catch {
        fail("run failed: \(error)")
    }
}
