import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The system resolver (`getaddrinfo`, as AsyncHTTPClient uses), run on NIO's blocking pool.
enum HostResolver {
    /// Every address `host` resolves to, without repeats, in the system's order of preference.
    static func addresses(of host: String) async throws(StorageError) -> [IPAddress] {
        let result: Result<[IPAddress], StorageError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive { lookUp(host) }
        } catch {
            throw TransportErrors.map(error, what: "resolving \(host)")
        }
        return try result.get()
    }

    private static func lookUp(_ host: String) -> Result<[IPAddress], StorageError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if os(Linux)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let list else {
            let why = status == 0 ? "no answer" : String(cString: gai_strerror(status))
            return .failure(StorageError(.transport, "resolving HTTP storage host '\(host)' failed: \(why)"))
        }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            if let pointer = current.pointee.ai_addr, let address = IPAddress(socketAddress: pointer), !addresses.contains(address) {
                addresses.append(address)
            }
            entry = current.pointee.ai_next
        }
        guard !addresses.isEmpty else {
            return .failure(StorageError(.transport, "resolving HTTP storage host '\(host)' gave no IPv4 or IPv6 address"))
        }
        return .success(addresses)
    }
}
