import NIOCore

extension EgressPolicy {
    /// The IP addresses of this machine's network interfaces, for ``ownAddresses`` when the peer
    /// listens on every interface (`0.0.0.0`): a registration naming the pod IP and the peer's
    /// port then reaches the peer itself. Empty when the interfaces cannot be listed.
    public static func localInterfaceAddresses() -> [String] {
        guard let devices = try? System.enumerateDevices() else { return [] }
        var addresses: [String] = []
        for device in devices {
            guard let text = device.address?.ipAddress, let address = IPAddress(text) else { continue }
            let shown = "\(address)"
            if !addresses.contains(shown) { addresses.append(shown) }
        }
        return addresses
    }
}
