import Crypto
import Foundation
import MeshCore

/// What peers attach to the requests only peers may send (hops, gossip): an HMAC with the
/// cluster's shared secret over what the request asks for, with the sender and the time, in the
/// `mm-auth` header or metadata. Without a secret, peers send nothing and receivers fall back to
/// checking the connection's address (``PeerGate``).
public struct PeerCredentials: Sendable {
    /// `mm-auth: v1 <peer> <unix milliseconds> <hex HMAC-SHA256>`.
    public static let header = "mm-auth"
    /// A signature older or newer than this is refused (clocks of peers need not agree closer).
    public static let window: Duration = .seconds(300)
    /// The shortest secret accepted (bytes).
    public static let minimumSecretBytes = 32

    /// The secret's bytes (a key is made from them per use: Crypto's key type is not Sendable).
    private let secret: [UInt8]?

    /// No secret: signatures are neither made nor checked.
    public static let none = PeerCredentials(secret: nil)

    private init(secret: [UInt8]?) {
        self.secret = secret
    }

    /// The secret from a mounted Secret file (surrounding whitespace ignored).
    public init(secretFile path: String) throws(MeshError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidArgument("the cluster secret file \(path) cannot be read (--cluster-secret-file)")
        }
        let secret = Array(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard secret.count >= Self.minimumSecretBytes else {
            throw .invalidArgument("the cluster secret in \(path) has \(secret.count) bytes; use at least \(Self.minimumSecretBytes) random bytes (e.g. openssl rand -hex 32)")
        }
        self.init(secret: secret)
    }

    public var isConfigured: Bool { secret != nil }

    /// The header value for a request from `peer` at `now` asking for `parts` (method, path,
    /// hop kind, ... as the receiver will see them); nil without a secret.
    public func sign(_ parts: [String], peer: PeerID, now: MeshTime) -> String? {
        guard let secret else { return nil }
        let time = now.millisecondsSinceEpoch
        return "v1 \(peer.rawValue) \(time) \(Self.mac(parts, peer: peer.rawValue, time: time, secret: secret))"
    }

    /// The peer that signed `value` for `parts`, or why it cannot be accepted.
    public func verify(_ value: String?, _ parts: [String], now: MeshTime) throws(MeshError) -> PeerID {
        guard let secret else { throw .internalError("no cluster secret to check a signature with") }
        guard let value else {
            throw .permissionDenied("this request may only come from a peer of the mesh: it has no \(Self.header) signature")
        }
        let fields = value.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 4, fields[0] == "v1", let time = Int64(fields[2]), let peer = try? PeerID(String(fields[1])) else {
            throw .permissionDenied("the \(Self.header) signature is malformed")
        }
        let age = now - MeshTime(millisecondsSinceEpoch: time)
        let window = Self.window
        guard (age < window) && (age > .zero - window) else {
            throw .permissionDenied("the \(Self.header) signature is \(Int(age.seconds)) s old; peers' clocks must agree within \(Int(Self.window.seconds)) s")
        }
        let expected = Self.mac(parts, peer: peer.rawValue, time: time, secret: secret)
        guard Self.equalInConstantTime(Array(expected.utf8), Array(fields[3].utf8)) else {
            throw .permissionDenied("the \(Self.header) signature does not match: the sender does not have this cluster's secret")
        }
        return peer
    }

    private static func mac(_ parts: [String], peer: String, time: Int64, secret: [UInt8]) -> String {
        // Fields joined with a byte no field can hold, so no two requests sign the same text.
        let text = (["v1", peer, String(time)] + parts).joined(separator: "\u{1F}")
        return HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: secret)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    private static func equalInConstantTime(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
