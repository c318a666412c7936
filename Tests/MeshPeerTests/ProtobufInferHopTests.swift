import Foundation
import MeshCore
@testable import MeshPeer
import NIOCore
import Testing

/// gRPC inference hops as protobuf on the REST infer route: the content type, and what a peer
/// does for a peer that announces no support for it (one of an earlier version).
@Suite struct ProtobufInferHopTests {
    @Test(arguments: [
        ("application/vnd.model-mesh.infer+protobuf", true),
        ("Application/VND.Model-Mesh.Infer+Protobuf", true),
        (" application/vnd.model-mesh.infer+protobuf ; charset=binary", true),
        ("application/json", false),
        ("application/vnd.model-mesh.infer+protobuf-plus", false),
        ("application/vnd.model-mesh.infer", false),
        ("application\u{0F}vnd.model-mesh.infer+protobuf", false),
        ("application/vnd.model-mesh.infer+protobuf;", true),
        ("\tapplication/vnd.model-mesh.infer+protobuf\t", true),
        ("", false),
    ])
    func theContentTypeIsReadWithoutItsParameters(contentType: String, isProtobuf: Bool) {
        #expect(MeshHeaders.isProtobufInfer(contentType) == isProtobuf)
    }

    @Test func aMissingContentTypeIsNotProtobuf() {
        #expect(!MeshHeaders.isProtobufInfer(nil))
    }

    @Test func peersAnnounceTheFeatureAndRecordsOfEarlierPeersHaveNone() throws {
        let record = PeerRecord(httpAddress: "127.0.0.1:1", capacityBytes: 1, version: "v", startTime: .epoch, instance: "i",
                                features: PeerFeature.all)
        let decoded = try JSONDecoder().decode(PeerRecord.self, from: JSONEncoder().encode(record))
        #expect(decoded.has(PeerFeature.protobufInfer))
        // An earlier version's record has no "features" key.
        var fields = try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(record)) as? [String: Any])
        #expect(fields.removeValue(forKey: "features") != nil)
        let old = try JSONDecoder().decode(PeerRecord.self, from: JSONSerialization.data(withJSONObject: fields))
        #expect(old.features == nil && !old.has(PeerFeature.protobufInfer))
        #expect(old.httpAddress == record.httpAddress)
    }

    /// A protobuf body is never sent to a peer that would read it as JSON: the hop is declined
    /// before anything is sent, so the router tries elsewhere.
    @Test func aProtobufHopToAPeerWithoutTheFeatureIsDeclinedUnsent() async throws {
        let forwarder = PeerForwarder(selfID: PeerID(trusted: "a"), maxResponseBytes: 1 << 20, loadReports: PiggybackedLoadReports(),
                                      credentials: .none, clock: SystemClock())
        defer { Task { try? await forwarder.shutdown() } }
        let call = RESTInferCall(body: ByteBuffer(bytes: [0x0A, 0x01, 0x6D]), jsonLength: nil, contentType: MeshHeaders.protobufInfer,
                                 forwarder: forwarder, metrics: MeshMetrics(perModel: false), peerID: PeerID(trusted: "a"))
        // Port 1 on loopback: were the hop sent, it would fail as unreachable, not be declined.
        let earlier = PeerRecord(httpAddress: "127.0.0.1:1", capacityBytes: 1, version: "old", startTime: .epoch, instance: "j")
        let result = try await call.forward(to: PeerID(trusted: "b"), at: earlier, hop: .hitOnly, modelID: ModelID(trusted: "m"), excluded: [],
                                            deadline: .now + .seconds(5), liveness: nil)
        guard case .declined(let decline, let message) = result else {
            Issue.record("expected a decline, got \(result)")
            return
        }
        #expect(decline.outcome == .unavailable)
        #expect(message == "peer b does not take protobuf inference requests")
    }
}
