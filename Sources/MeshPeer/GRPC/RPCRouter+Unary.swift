import GRPCCore
import GRPCProtobuf
import SwiftProtobuf

extension RPCRouter {
    /// Registers a unary handler (the router itself speaks only streams).
    mutating func registerUnary<Input: Sendable, Output: Sendable>(
        _ descriptor: MethodDescriptor,
        deserializer: some MessageDeserializer<Input>,
        serializer: some MessageSerializer<Output>,
        _ handler: @escaping @Sendable (ServerRequest<Input>, ServerContext) async throws -> ServerResponse<Output>
    ) {
        registerHandler(forMethod: descriptor, deserializer: deserializer, serializer: serializer) { request, context in
            StreamingServerResponse(single: try await handler(ServerRequest(stream: request), context))
        }
    }

    /// Registers a unary handler of protobuf messages.
    mutating func registerUnary<Input: SwiftProtobuf.Message, Output: SwiftProtobuf.Message>(
        _ descriptor: MethodDescriptor,
        _ handler: @escaping @Sendable (ServerRequest<Input>, ServerContext) async throws -> ServerResponse<Output>
    ) {
        registerUnary(descriptor, deserializer: ProtobufDeserializer<Input>(), serializer: ProtobufSerializer<Output>(), handler)
    }
}
