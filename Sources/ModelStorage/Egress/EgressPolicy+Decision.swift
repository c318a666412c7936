/// The policy's decisions, pure: names and addresses in, a refusal or nil out.
extension EgressPolicy {
    /// A refusal that needs no DNS: the peer's own name on its own port, a denied name, or a
    /// metadata service name. Nil when the host may be resolved.
    func refusal(beforeResolving host: String, port: Int) -> EgressRefusal? {
        let name = Self.normalizedHost(host)
        if ownPorts.contains(port), ownNames.contains(name) {
            return EgressRefusal(host: host, port: port, address: nil, cause: .ownEndpoint)
        }
        if let rule = denied.first(where: { $0.matches(host: name, address: nil, port: port) }) {
            return EgressRefusal(host: host, port: port, address: nil, cause: .deniedByRule(rule))
        }
        if Self.metadataHostNames.contains(name), !allowed.contains(where: { $0.matches(host: name, address: nil, port: port) }) {
            return EgressRefusal(host: host, port: port, address: nil, cause: .metadataName)
        }
        return nil
    }

    /// The refusal for the first of `addresses` (all that `host` resolved to) that may not be
    /// reached on `port`; nil when every one may.
    func refusal(host: String, port: Int, addresses: [IPAddress]) -> EgressRefusal? {
        for address in addresses {
            if let cause = refusalCause(host: host, address: address, port: port) {
                return EgressRefusal(host: host, port: port, address: address, cause: cause)
            }
        }
        return nil
    }

    private func refusalCause(host: String, address: IPAddress, port: Int) -> EgressRefusal.Cause? {
        let kind = AddressClass(address)
        if ownPorts.contains(port), kind == .loopback || kind == .unspecified || isOwn(address) {
            return .ownEndpoint
        }
        if let rule = denied.first(where: { $0.matches(host: host, address: address, port: port) }) { return .deniedByRule(rule) }
        if allowed.contains(where: { $0.matches(host: host, address: address, port: port) }) { return nil }
        switch kind {
        case .publicInternet: return nil
        case .privateNetwork: return refusesPrivateNetworks ? .addressClass(kind) : nil
        default: return .addressClass(kind)
        }
    }

    private func isOwn(_ address: IPAddress) -> Bool {
        let own = ownAddresses.compactMap(IPAddress.init(_:))
        return own.contains(address) || address.embeddedIPv4.map(own.contains) == true
    }

    private var ownNames: Set<String> {
        Set(ownAddresses.filter { IPAddress($0) == nil }.map(Self.normalizedHost))
    }
}
