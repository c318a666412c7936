/// The tokens a peer accepts, as read from its tokens file: for each token's SHA-256 (hex), the
/// role it grants and the principal it names in logs. The file holds hashes only, so reading it
/// does not reveal a token.
///
/// One entry per line, `#` starts a comment:
///
///     admin  alice            9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
///     infer  billing-service  sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
public struct BearerTokenTable: Sendable, Hashable {
    public struct Grant: Sendable, Hashable {
        public let role: AccessRole
        public let principal: String

        public init(role: AccessRole, principal: String) {
            self.role = role
            self.principal = principal
        }
    }

    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Grants by lowercase hex SHA-256 of the token.
    public let grants: [String: Grant]

    public init(grants: [String: Grant] = [:]) {
        self.grants = grants
    }

    /// Parses the file's text; every problem names its line.
    public static func parse(_ text: String) throws(Problem) -> BearerTokenTable {
        var grants: [String: Grant] = [:]
        var principals: Set<String> = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let content = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count == 3 else {
                throw Problem(line: line, message: "expected three fields, <role> <principal> <sha256 of the token>; found \(fields.count)")
            }
            guard let role = AccessRole(rawValue: String(fields[0])) else {
                throw Problem(line: line, message: "unknown role '\(fields[0].prefix(32))'; the roles are admin and infer")
            }
            let principal = String(fields[1])
            guard principal.count <= 128, principal.utf8.allSatisfy(Self.isPrincipalByte) else {
                throw Problem(line: line, message: "a principal is 1 to 128 letters, digits and . _ @ - (it names the caller in logs)")
            }
            guard principals.insert(principal).inserted else {
                throw Problem(line: line, message: "principal '\(principal)' appears twice; give each token a principal of its own")
            }
            var digest = fields[2].lowercased()
            if digest.hasPrefix("sha256:") { digest.removeFirst(7) }
            guard digest.utf8.count == 64, digest.utf8.allSatisfy(Self.isHexDigit) else {
                throw Problem(line: line, message: "the third field is the token's SHA-256 as 64 hex digits (printf %s \"$TOKEN\" | sha256sum), not the token itself")
            }
            guard grants[digest] == nil else {
                throw Problem(line: line, message: "this token's hash appears twice")
            }
            grants[digest] = Grant(role: role, principal: principal)
        }
        return BearerTokenTable(grants: grants)
    }

    private static func isPrincipalByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "@"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
