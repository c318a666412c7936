import Foundation

/// The score transforms of the ai.onnx.ml classifiers and regressors.
enum PostTransform: String {
    case none = "NONE"
    case logistic = "LOGISTIC"
    case softmax = "SOFTMAX"
    case softmaxZero = "SOFTMAX_ZERO"
    case probit = "PROBIT"

    init(_ context: NodeContext) throws(ONNXError) {
        let name = try context.attributes.string("post_transform", default: "NONE")
        guard let transform = PostTransform(rawValue: name) else {
            throw context.unsupported("post_transform \(name)")
        }
        self = transform
    }

    /// Transforms one row of two or more scores in place.
    func apply(_ row: UnsafeMutableBufferPointer<Float>) {
        switch self {
        case .none:
            break
        case .logistic:
            for i in row.indices { row[i] = Self.logistic(row[i]) }
        case .probit:
            for i in row.indices { row[i] = Self.probit(row[i]) }
        case .softmax:
            var maximum = -Float.greatestFiniteMagnitude
            for v in row { maximum = max(maximum, v) }
            var sum: Float = 0
            for i in row.indices {
                row[i] = expf(row[i] - maximum)
                sum += row[i]
            }
            for i in row.indices { row[i] /= sum }
        case .softmaxZero:
            // Exactly-zero scores stay zero: they mark classes no tree voted for.
            var maximum = -Float.greatestFiniteMagnitude
            for v in row { maximum = max(maximum, v) }
            let scale = expf(-maximum)
            var sum: Float = 0
            for i in row.indices {
                if row[i] > 0.0000001 || row[i] < -0.0000001 {
                    row[i] = expf(row[i] - maximum)
                    sum += row[i]
                } else {
                    row[i] *= scale
                }
            }
            for i in row.indices { row[i] /= sum }
        }
    }

    static func logistic(_ x: Float) -> Float {
        let v = 1 / (1 + expf(-abs(x)))
        return x < 0 ? 1 - v : v
    }

    /// sqrt(2) * erfinv(2x - 1), with the closed-form erfinv approximation (Winitzki, a = 0.147)
    /// that onnxruntime uses, so results agree to float precision.
    static func probit(_ x: Float) -> Float {
        let y = 2 * x - 1
        let sign: Float = y < 0 ? -1 : 1
        let l = logf((1 - y) * (1 + y))
        let a: Float = 0.147
        let t = 2 / (Float.pi * a) + 0.5 * l
        return Float(2).squareRoot() * sign * (-t + (t * t - l / a).squareRoot()).squareRoot()
    }
}

/// Reads an ML operator's feature input (float, double, int64 or int32; [N, C] or [C]) as
/// floats, without copying when it already is float.
func featureRows(_ x: ONNXTensor) throws(ONNXError) -> (rows: Int, columns: Int, values: [Float]) {
    let (rows, columns): (Int, Int)
    switch x.shape.count {
    case 1: (rows, columns) = (1, x.shape[0])
    case 2: (rows, columns) = (x.shape[0], x.shape[1])
    default: throw .runtime("expected features of shape [N, C] or [C], got \(x.shape)")
    }
    let values: [Float]
    switch x.storage {
    case .float(let a): values = a
    case .double(let a): values = a.map { Float($0) }
    case .int64(let a): values = a.map { Float($0) }
    case .int32(let a): values = a.map { Float($0) }
    default: throw .runtime("expected numeric features, got \(x.elementType)")
    }
    return (rows, columns, values)
}

let numericFeatureTypes: Set<ElementType> = [.float, .double, .int64, .int32]
