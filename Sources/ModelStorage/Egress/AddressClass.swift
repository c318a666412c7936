/// What kind of destination an address is, as far as the egress policy cares.
enum AddressClass: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Cloud instance metadata (169.254.169.254, fd00:ec2::254, Alibaba's 100.100.100.200):
    /// credentials live there.
    case cloudMetadata
    /// 127.0.0.0/8, ::1: this machine's own services (etcd, the peer's ports, sidecars).
    case loopback
    /// 169.254.0.0/16, fe80::/10.
    case linkLocal
    /// 0.0.0.0/8, ::: connecting to them reaches this machine.
    case unspecified
    /// 224.0.0.0/4, ff00::/8.
    case multicast
    /// 240.0.0.0/4, which holds the broadcast address 255.255.255.255.
    case broadcastOrReserved
    /// 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier-grade NAT, used for pods by some
    /// clusters), fc00::/7 and the deprecated fec0::/10.
    case privateNetwork
    /// Everything else.
    case publicInternet

    /// The class of `address`; an IPv6 address that stands for an IPv4 one (mapped, NAT64,
    /// compatible) has the class of the IPv4 address.
    init(_ address: IPAddress) {
        let judged = address.embeddedIPv4 ?? address
        self = Self.table.first { $0.network.contains(judged) }?.kind ?? .publicInternet
    }

    var description: String {
        switch self {
        case .cloudMetadata: return "cloud metadata"
        case .loopback: return "loopback"
        case .linkLocal: return "link-local"
        case .unspecified: return "unspecified"
        case .multicast: return "multicast"
        case .broadcastOrReserved: return "broadcast/reserved"
        case .privateNetwork: return "private-network"
        case .publicInternet: return "public"
        }
    }

    /// First match wins: the metadata addresses lie inside the link-local and private ranges.
    private static let table: [(network: IPNetwork, kind: AddressClass)] = ranges.map { text, kind in
        guard let network = IPNetwork(text) else { preconditionFailure("malformed network \(text) in the address table") }
        return (network, kind)
    }

    private static let ranges: [(String, AddressClass)] = [
        ("169.254.169.254", .cloudMetadata), ("169.254.170.2", .cloudMetadata),
        ("100.100.100.200", .cloudMetadata), ("fd00:ec2::254", .cloudMetadata),
        ("127.0.0.0/8", .loopback), ("::1", .loopback),
        ("169.254.0.0/16", .linkLocal), ("fe80::/10", .linkLocal),
        ("0.0.0.0/8", .unspecified), ("::", .unspecified),
        ("224.0.0.0/4", .multicast), ("ff00::/8", .multicast),
        ("240.0.0.0/4", .broadcastOrReserved),
        ("10.0.0.0/8", .privateNetwork), ("172.16.0.0/12", .privateNetwork), ("192.168.0.0/16", .privateNetwork),
        ("100.64.0.0/10", .privateNetwork), ("fc00::/7", .privateNetwork), ("fec0::/10", .privateNetwork),
    ]
}
