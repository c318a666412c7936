import GRPCCore
import NIOHTTP1
import Synchronization
import Tracing

/// Distributed tracing. Off unless the peer exports traces (`--otlp-endpoint`); when off, a
/// span costs one atomic load and nothing is extracted, injected or recorded.
public enum MeshTracing {
    private static let enabledFlag = Atomic<Bool>(false)

    public static var isEnabled: Bool { enabledFlag.load(ordering: .relaxed) }

    /// Turns tracing on; call once, after the tracer is bootstrapped and before the peer starts.
    public static func enable() {
        enabledFlag.store(true, ordering: .relaxed)
    }

    /// Runs `body` in a span named `name` when tracing is on; otherwise just runs it.
    static func span<T>(
        _ name: String, kind: SpanKind = .internal, attributes: @autoclosure () -> [String: String] = [:],
        isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async throws -> T {
        guard isEnabled else { return try await body() }
        return try await withSpan(name, ofKind: kind, isolation: isolation) { span in
            for (key, value) in attributes() { span.attributes[key] = value }
            return try await body()
        }
    }

    /// A span only inside a request's trace: background work (gossip, keep-alives, the
    /// watch) makes no traces of its own.
    static func childSpan<T>(
        _ name: String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async throws -> T {
        guard isEnabled, ServiceContext.current != nil else { return try await body() }
        return try await withSpan(name, ofKind: .client, isolation: isolation) { _ in try await body() }
    }

    /// The current trace context as headers of an outgoing hop (nothing when tracing is off or
    /// no span is current).
    static func inject(into headers: inout HTTPHeaders) {
        guard isEnabled, let context = ServiceContext.current else { return }
        InstrumentationSystem.instrument.inject(context, into: &headers, using: HTTPHeadersInjector())
    }

    /// Runs `body` in `context` (a job started on behalf of a request) when there is one.
    static func within<T>(_ context: ServiceContext?, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T) async rethrows -> T {
        guard let context else { return try await body() }
        return try await ServiceContext.withValue(context, isolation: isolation) { try await body() }
    }

    /// The context to hand to a job that outlives the current task, when tracing is on.
    static var currentContext: ServiceContext? { isEnabled ? ServiceContext.current : nil }
}

struct HTTPHeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into headers: inout HTTPHeaders) {
        headers.replaceOrAdd(name: key, value: value)
    }
}

struct GRPCMetadataExtractor: Extractor {
    func extract(key: String, from metadata: Metadata) -> String? {
        var values = metadata[stringValues: key].makeIterator()
        return values.next()
    }
}

struct GRPCMetadataInjector: Injector {
    func inject(_ value: String, forKey key: String, into metadata: inout Metadata) {
        metadata.replaceOrAddString(value, forKey: key)
    }
}

/// Continues a client's trace (`traceparent` in the metadata) in a server span per RPC.
struct TracingServerInterceptor: ServerInterceptor {
    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        var serviceContext = ServiceContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.metadata, into: &serviceContext, using: GRPCMetadataExtractor())
        return try await withSpan(context.descriptor.fullyQualifiedMethod, context: serviceContext, ofKind: .server) { span in
            span.attributes["rpc.system"] = "grpc"
            span.attributes["rpc.method"] = context.descriptor.method
            var response = try await next(request, context)
            switch response.accepted {
            case .failure(let error):
                span.attributes["rpc.grpc.status_code"] = error.code.rawValue
                span.setStatus(SpanStatus(code: .error))
            case .success(var contents):
                // The response is written after this returns: keep the trace context for it.
                let producer = contents.producer
                let spanContext = span.context
                contents.producer = { writer in try await ServiceContext.withValue(spanContext) { try await producer(writer) } }
                response.accepted = .success(contents)
            }
            return response
        }
    }
}

/// Puts the current trace context in the metadata of a peer's gRPC hop.
struct TracingClientInterceptor: ClientInterceptor {
    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>, context: ClientContext,
        next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        var request = request
        if let serviceContext = ServiceContext.current {
            InstrumentationSystem.instrument.inject(serviceContext, into: &request.metadata, using: GRPCMetadataInjector())
        }
        return try await next(request, context)
    }
}
