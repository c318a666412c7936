import Foundation

/// One entry of the storage egress allow-list (a destination HTTP storage may reach although
/// its class is refused by default) or deny-list (one it may never reach).
///
/// Forms, each optionally followed by `:port` (IPv6 then in brackets):
/// - an IP address or CIDR range (`127.0.0.1`, `10.0.0.0/8`, `fd00::/8`, `[::1]:9000`): matches
///   the addresses a host resolves to (an IPv4-mapped IPv6 address matches as its IPv4 address);
/// - a host name (`minio.storage.svc`) or every subdomain of one (`*.storage.svc`): matches the
///   name in the URL, whatever it resolves to. Only name hosts the operator trusts: their DNS
///   decides where the connection goes.
/// Without a port, a rule matches every port.
public struct EgressRule: Sendable, Hashable, CustomStringConvertible {
    enum Target: Sendable, Hashable {
        case network(IPNetwork)
        case host(String)
        /// `*.example.com`, stored as `.example.com`.
        case subdomains(of: String)
    }

    let target: Target
    let port: Int?

    /// Parses one entry; the error names it and shows the accepted forms.
    public init(_ text: String) throws(StorageError) {
        let entry = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let (targetText, port) = Self.splitPort(entry), let target = Self.target(targetText) else {
            throw StorageError(.invalidConfiguration, "storage egress entry '\(text)' is not a host name, *.domain, IP address or CIDR range, each optionally with :port (for example 127.0.0.1, 10.0.0.0/8, *.storage.svc, minio.storage.svc:9000, [::1]:8080)")
        }
        self.target = target
        self.port = port
    }

    /// Parses a comma-separated list, as a command-line setting carries it; blank items are skipped.
    public static func list(_ text: String) throws(StorageError) -> [EgressRule] {
        var rules: [EgressRule] = []
        for item in text.split(separator: ",") where !item.trimmingCharacters(in: .whitespaces).isEmpty {
            rules.append(try EgressRule(String(item)))
        }
        return rules
    }

    public var description: String {
        let target: String
        switch self.target {
        case .network(let network): target = port != nil && network.address.bitWidth == 128 ? "[\(network)]" : "\(network)"
        case .host(let name): target = name
        case .subdomains(let suffix): target = "*\(suffix)"
        }
        return port.map { "\(target):\($0)" } ?? target
    }

    /// Whether the rule names a connection to `host` (as in the URL) going to `address` (nil
    /// before resolution) on `port`.
    func matches(host: String, address: IPAddress?, port: Int) -> Bool {
        if let own = self.port, own != port { return false }
        switch target {
        case .network(let network):
            guard let address else { return false }
            return network.contains(address) || address.embeddedIPv4.map(network.contains) == true
        case .host(let name):
            return EgressPolicy.normalizedHost(host) == name
        case .subdomains(let suffix):
            return EgressPolicy.normalizedHost(host).hasSuffix(suffix)
        }
    }

    // MARK: - Parsing

    /// `[v6]:port`, `v6`, `host:port` or `host`; nil when the port is malformed.
    private static func splitPort(_ entry: String) -> (String, Int?)? {
        if entry.hasPrefix("[") {
            guard let close = entry.firstIndex(of: "]") else { return nil }
            let inside = String(entry[entry.index(after: entry.startIndex)..<close])
            let rest = entry[entry.index(after: close)...]
            if rest.isEmpty { return (inside, nil) }
            guard rest.hasPrefix(":"), let port = port(rest.dropFirst()) else { return nil }
            return (inside, port)
        }
        let colons = entry.count(where: { $0 == ":" })
        guard colons == 1, let colon = entry.firstIndex(of: ":") else { return (entry, nil) }
        guard let port = port(entry[entry.index(after: colon)...]) else { return nil }
        return (String(entry[..<colon]), port)
    }

    private static func port(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let port = Int(text), (1...65535).contains(port)
        else { return nil }
        return port
    }

    private static func target(_ text: String) -> Target? {
        if let network = IPNetwork(text) { return .network(network) }
        if text.hasPrefix("*.") {
            let suffix = String(text.dropFirst())
            return EgressPolicy.isPlainHostName(String(suffix.dropFirst())) ? .subdomains(of: EgressPolicy.normalizedHost(suffix)) : nil
        }
        return EgressPolicy.isPlainHostName(text) ? .host(EgressPolicy.normalizedHost(text)) : nil
    }
}
