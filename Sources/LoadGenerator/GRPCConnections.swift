import GRPCCore
import GRPCNIOTransportHTTP2
import OpenInferenceGRPC

/// One gRPC client (one HTTP/2 connection, requests multiplexed on it) per target, open for the
/// length of a run.
struct GRPCConnections: Sendable {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    let clients: [GRPCTarget: Client]

    static let none = GRPCConnections(clients: [:])

    /// Runs `body` with a client for every target, then closes them.
    static func with<T: Sendable>(_ targets: [GRPCTarget], _ body: @Sendable (GRPCConnections) async -> T) async throws -> T {
        var clients: [GRPCTarget: Client] = [:]
        for target in targets {
            var configuration = HTTP2ClientTransport.Posix.Config.defaults
            configuration.http2.maxFrameSize = 1 << 20
            // Measured latency must not include the transport holding each request's flush (up
            // to 100 µs by default) to batch writes.
            configuration.connection.flushCoalescing = nil
            let transport = target.isIPv4Address
                ? try HTTP2ClientTransport.Posix(target: .ipv4(address: target.host, port: target.port), transportSecurity: .plaintext, config: configuration)
                : try HTTP2ClientTransport.Posix(target: .dns(host: target.host, port: target.port), transportSecurity: .plaintext, config: configuration)
            clients[target] = GRPCClient(transport: transport)
        }
        let connections = GRPCConnections(clients: clients)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients.values {
                group.addTask { try await client.runConnections() }
            }
            let result = await body(connections)
            for client in clients.values { client.beginGracefulShutdown() }
            try await group.waitForAll()
            return result
        }
    }

    /// Sends one prepared `ModelInfer` message; the outcome names a failed call's status.
    func infer(_ message: [UInt8], at target: GRPCTarget, timeout: Duration, trackHeader: String?) async -> Outcome {
        guard let client = clients[target] else { return Outcome(error: "no connection to grpc://\(target.host):\(target.port)") }
        var options = CallOptions.defaults
        options.timeout = timeout
        options.maxResponseMessageBytes = 64 << 20
        do {
            return try await client.unary(
                request: ClientRequest(message: message), descriptor: Inference_GRPCInferenceService.Method.ModelInfer.descriptor,
                serializer: RawMessageSerializer(), deserializer: RawMessageDeserializer(role: "response"), options: options
            ) { response in
                let tracked = trackHeader.flatMap { response.metadata[stringValues: $0].first(where: { _ in true }) }
                switch response.accepted {
                case .success:
                    return Outcome(error: nil, tracked: tracked)
                case .failure(let error):
                    return Outcome(error: "gRPC \(error.code): \(error.message.prefix(160))", tracked: tracked)
                }
            }
        } catch let error as RPCError {
            return Outcome(error: "gRPC \(error.code): \(error.message.prefix(160))")
        } catch {
            return Outcome(error: String("\(error)".prefix(160)))
        }
    }
}
