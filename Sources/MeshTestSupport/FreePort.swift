#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Loopback ports that nothing listens on right now.
///
/// The kernel picks them (bind to port 0); the socket is closed before the port is handed out, so a
/// race with another program is possible but vanishingly rare on a test machine. Ports handed out
/// by this process are never handed out twice.
public enum FreePort {
    private static let issued = Issued()

    public static func next() -> Int {
        while true {
            let port = kernelChosenPort()
            if issued.claim(port) { return port }
        }
    }

    public static func next(_ count: Int) -> [Int] { (0..<count).map { _ in next() } }

    /// The first of `count` consecutive free ports, for scripts that number their ports from a
    /// base (cluster/local/mesh). Taken below Linux's ephemeral range (32768 and up), so that no
    /// outgoing connection of another test can be using one of them by the time they are bound.
    public static func block(_ count: Int) -> Int {
        while true {
            let base = Int.random(in: 20_000...(32_000 - count))
            let ports = base..<(base + count)
            guard ports.allSatisfy({ bindable($0) }) else { continue }
            if issued.claim(ports) { return base }
        }
    }

    private static func bindable(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket() failed: \(errno)")
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
    }

    private static func kernelChosenPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket() failed: \(errno)")
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(bound == 0, "bind() failed: \(errno)")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        precondition(named == 0, "getsockname() failed: \(errno)")
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

import Synchronization

private final class Issued: Sendable {
    private let ports = Mutex<Set<Int>>([])
    func claim(_ port: Int) -> Bool { ports.withLock { $0.insert(port).inserted } }

    /// Claims every port of the range, or none if one was handed out already.
    func claim(_ range: Range<Int>) -> Bool {
        ports.withLock { ports in
            guard range.allSatisfy({ !ports.contains($0) }) else { return false }
            ports.formUnion(range)
            return true
        }
    }
}
