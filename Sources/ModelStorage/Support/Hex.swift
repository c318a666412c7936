import Crypto

/// Hexadecimal digits for digests (signatures, ETags, cache ids) and percent-escapes.
enum Hex {
    /// Lower-case hex of `bytes`.
    static func string<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The value of one hex digit (either case), or nil.
    static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Lower-case hex of the SHA-256 of `text`'s UTF-8.
    static func sha256(_ text: String) -> String {
        string(SHA256.hash(data: Array(text.utf8)))
    }
}
