import GRPCCore

/// Messages as their encoded bytes: how a peer relays `ModelInfer` (and the other routed calls)
/// without decoding and re-encoding tensors. Only the peer that serves the call decodes it.
public struct RawMessageSerializer: MessageSerializer {
    public init() {}

    public func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }
}

/// Takes a message as bytes, refusing one over `limit` with RESOURCE_EXHAUSTED.
public struct RawMessageDeserializer: MessageDeserializer {
    /// Largest accepted message (`--max-body-bytes`).
    public let limit: Int
    /// Names the message in the error ("request", "response").
    public let role: String

    public init(limit: Int = .max, role: String) {
        self.limit = limit
        self.role = role
    }

    public func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        guard serializedMessageBytes.count <= limit else {
            throw RPCError(
                code: .resourceExhausted,
                message: "the \(role) message is \(serializedMessageBytes.count) bytes; this peer accepts at most \(limit) (--max-body-bytes)"
            )
        }
        return serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}
