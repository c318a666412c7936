import MeshCore

extension MeshError {
    /// The body of an error response: `{"error": "..."}`.
    public var jsonBody: [UInt8] {
        var writer = JSONWriter()
        writer.write(.object([("error", .string(message))]))
        return writer.bytes
    }
}
