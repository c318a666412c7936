/// A hash that is the same in every process and on every machine (Swift's `Hasher` is seeded per
/// process), for decisions that several peers must make identically.
public enum StableHash {
    /// 64-bit FNV-1a over the UTF-8 bytes, finished with a SplitMix64 mix for better spread.
    public static func of(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return mix(hash)
    }

    /// Rendezvous (highest random weight) score of `member` for `key`.
    public static func rendezvous(_ key: String, _ member: String) -> UInt64 {
        rendezvous(keyHash: of(key), member)
    }

    /// The member with the highest rendezvous score for `key` (the key hashed once), or nil when
    /// there are none: who does something for a key, agreed by every peer without talking.
    public static func winner(for key: String, among members: some Collection<PeerID>) -> PeerID? {
        let keyHash = of(key)
        return members.max { rendezvous(keyHash: keyHash, $0.rawValue) < rendezvous(keyHash: keyHash, $1.rawValue) }
    }

    /// The same score with the key already hashed by ``of(_:)``, for scoring many members.
    static func rendezvous(keyHash: UInt64, _ member: String) -> UInt64 {
        rendezvous(keyHash: keyHash, memberKey: rendezvousKey(of: member))
    }

    /// The member's half of the score, for members scored against many keys.
    static func rendezvousKey(of member: String) -> UInt64 { of(member) &* 0x9E37_79B9_7F4A_7C15 }

    static func rendezvous(keyHash: UInt64, memberKey: UInt64) -> UInt64 { mix(keyHash ^ memberKey) }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
