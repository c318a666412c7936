import OpenInference

/// What every inference decoder must guarantee for a request it accepts: each input holds as
/// many elements as its shape says (a request that claims more is refused before allocating).
func checkTensorsFillTheirShapes(_ request: InferenceRequest) {
    for tensor in request.inputs {
        invariant(tensor.storedElementCount == tensor.elementCount,
                  "input '\(tensor.name)' has shape \(tensor.shape) but \(tensor.storedElementCount) elements")
    }
}
