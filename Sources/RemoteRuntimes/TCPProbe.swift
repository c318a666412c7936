import NIOCore
import NIOPosix

/// Whether anything listens at an address: a runtime whose port refuses connections has stopped
/// (its container restarts), however its last calls ended.
enum TCPProbe {
    /// Why the address cannot be reached, or nil when a connection was accepted.
    static func refusal(host: String, port: Int, timeout: Duration) async -> String? {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(timeout))
        do {
            let channel = try await bootstrap.connect(host: host, port: port).get()
            try? await channel.close()
            return nil
        } catch {
            return "\(host):\(port) refuses connections: \(error)"
        }
    }
}
