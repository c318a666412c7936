/// What a member says about itself.
public struct MemberStatus: Sendable {
    public var endpoint: String
    public var version: String
    public var header: ResponseHeader
    public var leader: UInt64
    public var dbSize: Int64
}

extension EtcdClient {
    /// The status of the first endpoint that answers.
    public func status() async throws -> MemberStatus {
        struct Empty: Encodable {}
        struct Response: Decodable {
            var header: WireHeader?
            var version: String?
            var dbSize: WireInt?
            var leader: WireInt?
        }
        let response: Response = try await call("/v3/maintenance/status", body: Empty(), operation: "status", idempotent: true)
        return MemberStatus(
            endpoint: endpoints[endpointOrder()[0]],
            version: response.version ?? "unknown",
            header: response.header.header,
            leader: UInt64(bitPattern: response.leader?.value ?? 0),
            dbSize: response.dbSize?.value ?? 0
        )
    }
}
