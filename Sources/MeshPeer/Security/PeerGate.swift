import MeshCore

/// Decides whether a request may use a peer-only surface: gossip, and the hop headers
/// (`mm-hop`, `mm-excluded`) that make a peer serve, load or skip placement without asking.
///
/// With a cluster secret, the request must carry a valid ``PeerCredentials`` signature. Without
/// one, it must come from an address a registered peer advertises (weaker: anything that shares
/// a peer's address passes, which on a single host is everything on loopback). Everything else
/// gets 403 / PERMISSION_DENIED.
struct PeerGate: Sendable {
    let credentials: PeerCredentials
    let mirror: ClusterMirror
    let clock: any PeerClock

    /// Checks a peer-only request. `parts` are what was signed; `remoteHost` the connection's
    /// address (IPv4 or IPv6 text, no port).
    func admit(signature: String?, parts: [String], remoteHost: String?) throws(MeshError) {
        if credentials.isConfigured {
            _ = try credentials.verify(signature, parts, now: clock.now)
            return
        }
        guard let remoteHost else {
            throw .permissionDenied("this request may only come from a peer of the mesh, and its address is unknown")
        }
        let peerHosts = mirror.view.peers.values.flatMap { record in
            [record.httpAddress, record.grpcAddress].compactMap { $0.flatMap(Self.host(of:)) }
        }
        guard peerHosts.contains(Self.normalized(remoteHost)) else {
            throw .permissionDenied("this request may only come from a peer of the mesh; \(remoteHost) is not the address of a registered peer (configure --cluster-secret-file on every peer to sign peer requests instead)")
        }
    }

    /// The host of `host:port` (`[v6]:port` too).
    static func host(of address: String) -> String? {
        guard let colon = address.lastIndex(of: ":") else { return nil }
        return normalized(String(address[..<colon]))
    }

    static func normalized(_ host: String) -> String {
        var host = host
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasPrefix("::ffff:") && host.contains(".") { host = String(host.dropFirst(7)) }
        return host.lowercased()
    }
}
