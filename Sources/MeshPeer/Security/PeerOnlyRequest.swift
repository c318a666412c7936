/// What a peer-only request signs and the receiver checks, for REST and gRPC alike: how it
/// reached the peer (method and path, or the gRPC method and model) and the hop headers that
/// give it a peer's powers.
enum PeerOnlyRequest {
    /// The signed parts of a REST request.
    static func restParts(method: String, path: String, hop: String?, excluded: String?) -> [String] {
        ["rest", method, path, hop ?? "", excluded ?? ""]
    }

    /// The signed parts of a gRPC call.
    static func grpcParts(method: String, model: String?, hop: String?, excluded: String?) -> [String] {
        ["grpc", method, model ?? "", hop ?? "", excluded ?? ""]
    }

    /// The path gossip is pushed to.
    static let gossipPath = "/_mesh/gossip"
}
