import Hummingbird
import NIOCore

/// The request context of the peer's HTTP server: Hummingbird's core context and the address the
/// connection came from (peer-only surfaces check it when no cluster secret is configured).
struct MeshRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    /// The connection, for the client certificate a TLS peer presented.
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    /// The remote address as text, without the port.
    var remoteHost: String? { remoteAddress?.ipAddress }
}
