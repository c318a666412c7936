import AsyncHTTPClient
import MeshCore
import NIOCore

/// Gossip over HTTP: one POST of the message to the peer's `/_mesh/gossip`.
enum GossipPush {
    static func send(_ body: [UInt8], to record: PeerRecord, http: PeerHTTP, signature: String?) async throws {
        var request = HTTPClientRequest(url: http.url(record, PeerOnlyRequest.gossipPath))
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        if let signature { request.headers.add(name: PeerCredentials.header, value: signature) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.client.execute(request, timeout: .milliseconds(500))
        _ = try await response.body.collect(upTo: 1 << 16)
    }
}
