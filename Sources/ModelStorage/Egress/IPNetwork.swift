/// An address range in CIDR notation (`10.0.0.0/8`, `fc00::/7`); a single address is a range
/// of one.
struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    /// The first address of the range (host bits cleared).
    let address: IPAddress
    let prefixLength: Int

    init(_ address: IPAddress, prefixLength: Int) {
        precondition((0...address.bitWidth).contains(prefixLength), "prefix /\(prefixLength) is longer than the address")
        self.prefixLength = prefixLength
        switch address {
        case .v4(let value): self.address = .v4(value & Self.mask(prefixLength, of: UInt32.self))
        case .v6(let value): self.address = .v6(value & Self.mask(prefixLength, of: UInt128.self))
        }
    }

    /// Parses `address` or `address/prefix`; nil when either part is malformed.
    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else { return nil }
        guard parts.count == 2 else {
            self.init(address, prefixLength: address.bitWidth)
            return
        }
        guard parts[1].utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let prefix = Int(parts[1]), prefix <= address.bitWidth
        else { return nil }
        self.init(address, prefixLength: prefix)
    }

    func contains(_ other: IPAddress) -> Bool {
        switch (address, other) {
        case (.v4(let base), .v4(let value)): return value & Self.mask(prefixLength, of: UInt32.self) == base
        case (.v6(let base), .v6(let value)): return value & Self.mask(prefixLength, of: UInt128.self) == base
        default: return false
        }
    }

    var description: String {
        prefixLength == address.bitWidth ? "\(address)" : "\(address)/\(prefixLength)"
    }

    /// The top `prefix` bits set; a shift by the full width yields 0, so /0 is an empty mask.
    private static func mask<Number: FixedWidthInteger & UnsignedInteger>(_ prefix: Int, of: Number.Type) -> Number {
        ~Number.zero << (Number.bitWidth - prefix)
    }
}
