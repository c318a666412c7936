/// Key/value metadata on a model or vmodel. The mesh never reads them; tools select by them
/// (`meshctl apply --prune -l team=search` removes only what carries `team=search`).
public enum Tags {
    public static let maxCount = 64
    public static let maxKeyLength = 128
    public static let maxValueLength = 256

    /// Keys are 1 to ``maxKeyLength`` letters, digits, '.', '_', '-' and '/', beginning and ending
    /// with a letter or digit (Kubernetes label keys fit); values are at most ``maxValueLength``
    /// characters without control characters.
    public static func validate(_ tags: [String: String]) throws(MeshError) {
        guard tags.count <= maxCount else { throw .invalidArgument("at most \(maxCount) tags, not \(tags.count)") }
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            guard isValidKey(key) else {
                throw .invalidArgument("tag key \"\(TextLimit.clip(key))\" must be 1 to \(maxKeyLength) letters, digits, '.', '_', '-' or '/', beginning and ending with a letter or digit")
            }
            // Counted in Unicode scalars, as JSON Schema's maxLength counts them (docs/openapi.yaml).
            guard value.unicodeScalars.count <= maxValueLength, !value.unicodeScalars.contains(where: isControl) else {
                throw .invalidArgument("the value of tag \(key) must be at most \(maxValueLength) characters, without control characters")
            }
        }
    }

    /// Whether `tags` has every pair of `selector`.
    public static func matches(_ tags: [String: String], selector: [String: String]) -> Bool {
        selector.allSatisfy { tags[$0.key] == $0.value }
    }

    static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard !bytes.isEmpty, bytes.count <= maxKeyLength, isAlphanumeric(bytes.first!), isAlphanumeric(bytes.last!) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "/") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F
    }
}
