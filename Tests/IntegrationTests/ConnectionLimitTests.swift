import Foundation
import MeshTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    /// Idle connections are closed, and connections beyond the limit wait to be accepted.
    @Suite struct ConnectionLimits {
        @Test func idleConnectionsAreClosedAndConnectionsAreBounded() async throws {
            try await withMesh(peers: 1, arguments: ["--idle-timeout", "1s", "--max-connections", "2"]) { mesh in
                let peer = mesh.peers[0]
                // An idle connection is closed by the peer after the idle timeout.
                let idle = try RawConnection(port: peer.httpPort)
                try await Task.sleep(for: .seconds(2))
                #expect(idle.isClosedByPeer())
                idle.close()

                // Two open connections use the limit: a third request waits past its timeout.
                let held = [try RawConnection(port: peer.httpPort), try RawConnection(port: peer.httpPort)]
                try await Task.sleep(for: .milliseconds(200))
                await #expect(throws: (any Error).self) { try await TestHTTP.get(peer.url + "/v2/health/live", timeout: .milliseconds(500)) }
                for connection in held { connection.close() }
                #expect(try await eventually(timeout: .seconds(10)) {
                    (try? await TestHTTP.get(peer.url + "/v2/health/live", timeout: .seconds(1)))?.status == 200
                })
                #expect(peer.isRunning)
            }
        }
    }
}

/// A plain TCP connection to a loopback port.
final class RawConnection {
    let socket: Int32

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw TestSupportError("cannot connect to 127.0.0.1:\(port)") }
    }

    /// Whether the peer closed the connection (a read returns end of file at once).
    func isClosedByPeer() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 100) > 0 else { return false }
        return recv(socket, &buffer, buffer.count, 0) == 0
    }

    func close() { _ = Glibc.close(socket) }
}
