/// Headers peers use on hops between them (and a few clients may send).
public enum MeshHeaders {
    /// Request: `hit-only` or `load-local` (absent: a client request).
    public static let hop = "mm-hop"
    /// Request: peers already tried, comma-separated.
    public static let excluded = "mm-excluded"
    /// Request: milliseconds left before the client's deadline.
    public static let timeoutMillis = "mm-timeout-ms"
    /// Response: the peer that ran the model.
    public static let servedBy = "mm-served-by"
    /// Response: why a hop did not serve (``HopDecline/Outcome``): `not-here`, `load-failed`, `unavailable`.
    public static let route = "mm-route"
    /// Response: the etcd revision the answering peer's decision was based on.
    public static let revision = "mm-revision"
    /// Response to health probes: the peer's id.
    public static let peerID = "mm-peer-id"
    /// Response to health probes: the peer process's random instance id.
    public static let instance = "mm-instance"
    /// Response: the answering peer's load report (JSON), piggybacked on hops.
    public static let load = "mm-load"
    /// Request: `true` when the inference must not run twice: a hop that may have reached its
    /// peer (the connection closed before the answer, the peer froze) is not retried elsewhere.
    public static let atMostOnce = "mm-at-most-once"
    /// Request: select the model (or vmodel) by header, as ModelMesh clients do.
    public static let modelID = "mm-model-id"
    public static let vmodelID = "mm-vmodel-id"
    /// Content type of an Open Inference `ModelInferRequest` (and its `ModelInferResponse`) as
    /// protobuf bytes on the REST infer route: how gRPC inference hops travel between peers.
    public static let protobufInfer = "application/vnd.model-mesh.infer+protobuf"

    /// Whether a `Content-Type` names ``protobufInfer`` (parameters aside).
    static func isProtobufInfer(_ contentType: String?) -> Bool {
        guard var type = contentType?.utf8[...] else { return false }
        // Read byte by byte, without copies: every REST inference asks.
        if let semicolon = type.firstIndex(of: UInt8(ascii: ";")) { type = type[..<semicolon] }
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        while let first = type.first, isSpace(first) { type = type.dropFirst() }
        while let last = type.last, isSpace(last) { type = type.dropLast() }
        let expected = protobufInfer.utf8
        guard type.count == expected.count else { return false }
        let uppercase = UInt8(ascii: "A")...UInt8(ascii: "Z")
        return zip(type, expected).allSatisfy { byte, lowercase in (uppercase.contains(byte) ? byte | 0x20 : byte) == lowercase }
    }
}
