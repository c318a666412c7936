import MeshCore
import ModelRuntimes
import NIOCore
import NIOHTTP1
import OpenInference

/// An inference request that arrived over REST.
struct RESTInferCall: RoutedCall {
    let body: ByteBuffer
    let jsonLength: Int?
    let contentType: String?
    let forwarder: PeerForwarder
    let metrics: MeshMetrics
    let peerID: PeerID
    var atMostOnce = false

    func serve(_ model: any LoadedModel, modelID: ModelID) async throws -> HTTPReply {
        if MeshHeaders.isProtobufInfer(contentType) { return try await serveProtobuf(model, modelID: modelID) }
        let json = Array(body.readableBytesView)
        let (request, relayable) = try checked(json)
        let started = ContinuousClock.now
        if relayable, let answer = try await model.relay(json: json) {
            metrics.invoke(model: modelID, duration: .now - started)
            return relayed(ByteBuffer(bytes: answer))
        }
        var response = try await model.infer(request)
        metrics.invoke(model: modelID, duration: .now - started)
        response.modelName = modelID.rawValue
        if response.id == nil { response.id = request.id }
        let encoded = RESTEncoding.response(response, for: request)
        var headers = [("content-type", encoded.jsonLength == nil ? "application/json" : "application/octet-stream"),
                       (MeshHeaders.servedBy, peerID.rawValue)]
        if let length = encoded.jsonLength { headers.append(("inference-header-content-length", String(length))) }
        return HTTPReply(status: 200, headers: headers, body: ByteBuffer(bytes: encoded.bytes))
    }

    /// The request `json` (the body) holds, read and checked, and whether a runtime server
    /// speaking the same protocol may take it as it came and give its answer as it is: not when
    /// binary parts come in or are asked for, which only the peer reads and writes.
    func checked(_ json: [UInt8]) throws -> (request: InferenceRequest, relayable: Bool) {
        let request = try RESTDecoding.request(json, jsonLength: jsonLength)
        return (request, jsonLength == nil && !RESTEncoding.asksForBinaryOutput(request))
    }

    /// The reply carrying a runtime server's JSON answer as it came.
    func relayed(_ answer: ByteBuffer) -> HTTPReply {
        HTTPReply(status: 200, headers: [("content-type", "application/json"), (MeshHeaders.servedBy, peerID.rawValue)], body: answer)
    }

    /// A `ModelInferRequest` in protobuf (a gRPC inference hop), answered as the gRPC service
    /// would answer it.
    private func serveProtobuf(_ model: any LoadedModel, modelID: ModelID) async throws -> HTTPReply {
        guard jsonLength == nil else {
            throw MeshError.invalidArgument("Inference-Header-Content-Length applies to JSON bodies, not to \(MeshHeaders.protobufInfer)")
        }
        let response = try await InferenceService.infer(Array(body.readableBytesView), on: model, modelID: modelID, metrics: metrics)
        return HTTPReply(status: 200, headers: [("content-type", MeshHeaders.protobufInfer), (MeshHeaders.servedBy, peerID.rawValue)],
                         body: ByteBuffer(bytes: response))
    }

    func forward(to peer: PeerID, at record: PeerRecord, hop: Hop, modelID: ModelID, excluded: Set<PeerID>,
                 deadline: ContinuousClock.Instant, liveness: HopLiveness?) async throws -> HopResult<HTTPReply> {
        if MeshHeaders.isProtobufInfer(contentType), !record.has(PeerFeature.protobufInfer) {
            // A peer of an earlier version (during a rolling update) would read the body as JSON.
            return .declined(HopDecline(outcome: .unavailable), message: "peer \(peer) does not take protobuf inference requests")
        }
        let result = try await forwarder.send(
            to: peer, at: record, method: .POST, path: Self.path(of: modelID), headers: hopHeaders,
            body: body, hop: hop, excluded: excluded, deadline: deadline, liveness: liveness
        )
        metrics.forwarded(hop: hop, outcome: result.label)
        return result
    }

    /// ``forward(to:at:hop:modelID:excluded:deadline:liveness:)`` from a handler on `loop`;
    /// `completion` runs on `loop`. The caller of a protobuf body checks that the peer takes one
    /// (as above).
    func forward(to peer: PeerID, at record: PeerRecord, hop: Hop, modelID: ModelID, excluded: Set<PeerID>,
                 deadline: ContinuousClock.Instant, liveness: HopLiveness?, on loop: any EventLoop,
                 then completion: @escaping @Sendable (Result<HopResult<HTTPReply>, any Error>) -> Void) {
        let metrics = self.metrics
        forwarder.send(
            to: peer, at: record, method: .POST, path: Self.path(of: modelID), headers: hopHeaders,
            body: body, hop: hop, excluded: excluded, deadline: deadline, liveness: liveness, on: loop
        ) { result in
            if case .success(let answer) = result { metrics.forwarded(hop: hop, outcome: answer.label) }
            completion(result)
        }
    }

    private var hopHeaders: [(String, String)] {
        var headers: [(String, String)] = []
        if let contentType { headers.append(("content-type", contentType)) }
        if let jsonLength { headers.append(("inference-header-content-length", String(jsonLength))) }
        return headers
    }

    private static func path(of model: ModelID) -> String { "/v2/models/\(model.rawValue)/infer" }
}

/// `GET /v2/models/{m}`: served by a holder (loading the model if needed: its inputs and outputs
/// are known only once loaded).
struct RESTMetadataCall: RoutedCall {
    let forwarder: PeerForwarder
    let peerID: PeerID

    func serve(_ model: any LoadedModel, modelID: ModelID) async throws -> HTTPReply {
        var metadata = model.metadata
        metadata.name = modelID.rawValue
        return .json(200, RESTEncoding.modelMetadata(metadata), headers: [(MeshHeaders.servedBy, peerID.rawValue)])
    }

    func forward(to peer: PeerID, at record: PeerRecord, hop: Hop, modelID: ModelID, excluded: Set<PeerID>,
                 deadline: ContinuousClock.Instant, liveness: HopLiveness?) async throws -> HopResult<HTTPReply> {
        try await forwarder.send(to: peer, at: record, method: .GET, path: "/v2/models/\(modelID.rawValue)", headers: [],
                                 body: nil, hop: hop, excluded: excluded, deadline: deadline, liveness: liveness)
    }
}

/// `POST /v2/repository/models/{m}/load`: make sure a copy is loaded somewhere.
struct RESTLoadCall: RoutedCall {
    let forwarder: PeerForwarder
    let peerID: PeerID

    func serve(_ model: any LoadedModel, modelID: ModelID) async throws -> HTTPReply {
        .json(200, Array("{}".utf8), headers: [(MeshHeaders.servedBy, peerID.rawValue)])
    }

    func forward(to peer: PeerID, at record: PeerRecord, hop: Hop, modelID: ModelID, excluded: Set<PeerID>,
                 deadline: ContinuousClock.Instant, liveness: HopLiveness?) async throws -> HopResult<HTTPReply> {
        try await forwarder.send(to: peer, at: record, method: .POST, path: "/v2/repository/models/\(modelID.rawValue)/load",
                                 headers: [], body: nil, hop: hop, excluded: excluded, deadline: deadline, liveness: liveness)
    }

    func addedCopy(_ reply: HTTPReply, by peer: PeerID) -> RequestRoute.Outcome {
        reply.status == 200 ? .copyAdded(peer) : .peerFailed(peer, MeshError(MeshError.Kind(httpStatus: reply.status), reply.errorMessage))
    }
}

extension HopResult {
    var label: String {
        switch self {
        case .served: return "served"
        case .declined(let decline, _): return decline.outcome.rawValue
        }
    }
}
