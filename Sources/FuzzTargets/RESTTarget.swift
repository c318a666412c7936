import OpenInference

/// REST inference bodies, decoded as a peer's `/v2/models/NAME/infer` route does.
///
/// Input: a byte below 0x80 starts a plain body (the whole input, so JSON files are seeds as
/// they are). A first byte of 0x80 or more says the body has a binary section: the next two
/// bytes (big-endian) are `Inference-Header-Content-Length` and the rest is the body.
enum RESTTarget {
    static func run(_ input: [UInt8]) -> FuzzOutcome {
        let (body, jsonLength) = split(input)
        // Clients read responses with the same codec; management routes read plain JSON.
        let response = try? RESTDecoding.response(body, jsonLength: jsonLength)
        _ = try? RESTDecoding.json(body)
        do {
            let request = try RESTDecoding.request(body, jsonLength: jsonLength)
            checkTensorsFillTheirShapes(request)
            return .accepted
        } catch {
            return response == nil ? .refused("\(error)") : .accepted
        }
    }

    static func split(_ input: [UInt8]) -> (body: [UInt8], jsonLength: Int?) {
        guard let first = input.first, first >= 0x80 else { return (input, nil) }
        guard input.count >= 3 else { return ([], 0) }
        return (Array(input[3...]), Int(input[1]) << 8 | Int(input[2]))
    }
}
