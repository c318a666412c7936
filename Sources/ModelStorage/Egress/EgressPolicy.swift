/// Where HTTP storage named by model registrations may connect.
///
/// A registration may name any `http(s)://` URL; without a policy it could make the peer fetch
/// from services only the peer can reach (the etcd gateway on loopback, the cloud metadata
/// service, the peer's own API): server-side request forgery. So every host HTTP storage
/// connects to, the registration's URL and each redirect, is resolved once, every address it
/// resolves to is checked, and the connection goes to the checked address, never to a second
/// DNS answer.
///
/// Refused unless ``allowed`` names them: loopback, link-local, unspecified, multicast and
/// broadcast/reserved addresses (in their IPv4-mapped, NAT64 and IPv4-compatible IPv6 forms
/// too), cloud metadata addresses (169.254.169.254, fd00:ec2::254, 100.100.100.200, …) and
/// metadata host names (`metadata.google.internal`, `metadata`, `instance-data`, …, refused
/// before any DNS query). Refused even when allowed: the peer's own endpoints (``ownPorts`` on
/// loopback, the unspecified address or ``ownAddresses``) and whatever ``denied`` names (the
/// peer's etcd endpoints, for example, which may sit in an allowed private network).
///
/// Private networks (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) are allowed by default:
/// in Kubernetes the model servers (MinIO, an in-cluster HTTP server) live there, and a peer
/// that refused them could not load a model before its operator wrote an allow-list. Set
/// ``refusesPrivateNetworks`` where registrations are trusted less than the cluster network,
/// and allow the model servers' names or ranges.
///
/// Outside the policy: S3 endpoints, and the `url` of HTTP storage-config entries with anything
/// on that origin, come from the operator's storage configuration (a mounted Secret) and are
/// trusted like it; a redirect from them to another origin is checked. Local paths are governed
/// by ``StorageLimits/localRoots``. ``StorageLimits/allowedHTTPHosts`` still applies on top:
/// a host must pass both.
public struct EgressPolicy: Sendable, Hashable {
    /// Destinations allowed although their class is refused (see ``EgressRule`` for the forms).
    public var allowed: [EgressRule]
    /// Destinations refused whatever their class and ``allowed`` say.
    public var denied: [EgressRule]
    /// Refuse private-network addresses too (allowed by default; see above).
    public var refusesPrivateNetworks: Bool
    /// The peer's listening ports (HTTP, gRPC, metrics): refused on loopback, on the unspecified
    /// address and on ``ownAddresses``, whatever ``allowed`` says.
    public var ownPorts: Set<Int>
    /// The peer's own IP addresses and host names (pod IP, advertised host, interface
    /// addresses, see ``localInterfaceAddresses()``), where ``ownPorts`` are refused.
    public var ownAddresses: [String]
    /// How refusals name the setting that extends ``allowed``, so the message says what to change.
    public var allowSetting: String

    public init(
        allowed: [EgressRule] = [],
        denied: [EgressRule] = [],
        refusesPrivateNetworks: Bool = false,
        ownPorts: Set<Int> = [],
        ownAddresses: [String] = [],
        allowSetting: String = "--storage-egress-allow"
    ) {
        self.allowed = allowed
        self.denied = denied
        self.refusesPrivateNetworks = refusesPrivateNetworks
        self.ownPorts = ownPorts
        self.ownAddresses = ownAddresses
        self.allowSetting = allowSetting
    }

    /// The same, with the lists given as text (`["127.0.0.1", "10.0.0.0/8"]`); throws an
    /// ``StorageError/Reason/invalidConfiguration`` error naming the first malformed entry.
    public init(
        allowing entries: [String],
        denying deniedEntries: [String] = [],
        refusesPrivateNetworks: Bool = false,
        ownPorts: Set<Int> = [],
        ownAddresses: [String] = [],
        allowSetting: String = "--storage-egress-allow"
    ) throws(StorageError) {
        var allowed: [EgressRule] = []
        for entry in entries { allowed.append(try EgressRule(entry)) }
        var denied: [EgressRule] = []
        for entry in deniedEntries { denied.append(try EgressRule(entry)) }
        self.init(
            allowed: allowed, denied: denied, refusesPrivateNetworks: refusesPrivateNetworks, ownPorts: ownPorts,
            ownAddresses: ownAddresses, allowSetting: allowSetting
        )
    }

    /// Names that reach a cloud provider's instance metadata service (credentials live there).
    static let metadataHostNames: Set<String> = [
        "metadata", "metadata.google.internal", "metadata.goog",
        "instance-data", "instance-data.ec2.internal", "metadata.tencentyun.com",
    ]

    /// Letters, digits, `-` and `_` in labels between dots; a trailing dot is allowed. Anything
    /// else (percent-escapes, Unicode, `/`, `@`) could be read differently by the HTTP client
    /// than by the check, so it is neither allowed in rules nor connected to.
    static func isPlainHostName(_ text: String) -> Bool {
        let name = text.hasSuffix(".") ? String(text.dropLast()) : text
        return !name.isEmpty && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
        }
    }

    /// Host names compare lowercased, without a trailing dot or IPv6 brackets.
    static func normalizedHost(_ host: String) -> String {
        var host = Substring(host.lowercased())
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        if host.hasSuffix(".") { host = host.dropLast() }
        return String(host)
    }
}
