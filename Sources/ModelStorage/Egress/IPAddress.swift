#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as a number, for the egress policy's range checks.
enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(UInt128)

    /// Parses a strict textual address (`10.0.0.1`, `::1`, `::ffff:127.0.0.1`); brackets around
    /// IPv6 are accepted. Nil for host names and for the loose IPv4 forms (`127.1`, `2130706433`)
    /// that resolvers accept: those are treated as names and resolved, so they are checked too.
    init?(_ text: String) {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        var v4 = in_addr()
        if inet_pton(AF_INET, String(text), &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, String(text), &v6) == 1 else { return nil }
        self = .v6(withUnsafeBytes(of: &v6) { Self.number($0) })
    }

    /// The address in a `sockaddr_in` or `sockaddr_in6`; nil for other families.
    init?(socketAddress: UnsafePointer<sockaddr>) {
        switch Int32(socketAddress.pointee.sa_family) {
        case AF_INET:
            let raw = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            self = .v4(UInt32(bigEndian: raw))
        case AF_INET6:
            var raw = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
            self = .v6(withUnsafeBytes(of: &raw) { Self.number($0) })
        default:
            return nil
        }
    }

    var bitWidth: Int {
        switch self {
        case .v4: return 32
        case .v6: return 128
        }
    }

    /// The IPv4 address an IPv6 address stands for: IPv4-mapped (`::ffff:a.b.c.d`), NAT64
    /// (`64:ff9b::a.b.c.d`) and the deprecated IPv4-compatible form (`::a.b.c.d`). Connecting to
    /// one of these reaches (or is translated to) the IPv4 address, so it is judged as that.
    var embeddedIPv4: IPAddress? {
        guard case .v6(let value) = self else { return nil }
        let low = UInt32(truncatingIfNeeded: value)
        switch value >> 32 {
        case 0xFFFF, 0x64_FF9B_0000_0000_0000_0000: return .v4(low)
        case 0 where low > 1: return .v4(low)  // not :: or ::1, which are IPv6's own
        default: return nil
        }
    }

    var description: String {
        switch self {
        case .v4(let value):
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        case .v6(let value):
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { bytes in
                for index in 0..<16 { bytes[index] = UInt8(truncatingIfNeeded: value >> (8 * (15 - index))) }
            }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil else { return "?" }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// `host:port` as a URL writes it: IPv6 in brackets.
    func withPort(_ port: Int) -> String {
        switch self {
        case .v4: return "\(self):\(port)"
        case .v6: return "[\(self)]:\(port)"
        }
    }

    private static func number(_ bytes: UnsafeRawBufferPointer) -> UInt128 {
        bytes.reduce(0) { $0 << 8 | UInt128($1) }
    }
}
