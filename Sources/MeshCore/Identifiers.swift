/// Identifiers that end up in etcd keys, file names, URLs and HTTP headers.
///
/// Both model and peer ids share one conservative alphabet so that an id is always safe as one
/// etcd key segment and as one file name: ASCII letters, digits, `.`, `_` and `-`, starting with
/// a letter or digit (so `.` and `..` are impossible), at most ``maxLength`` characters.
public enum MeshIdentifier {
    public static let maxLength = 200

    /// Why an id was refused, phrased for the person who chose it.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case empty(kind: String)
        case tooLong(kind: String, length: Int, limit: Int)
        case badFirstCharacter(kind: String)
        case badCharacter(kind: String, character: String, offset: Int)

        public var description: String {
            switch self {
            case .empty(let kind):
                return "\(kind) must not be empty"
            case .tooLong(let kind, let length, let limit):
                return "\(kind) is \(length) characters long; the limit is \(limit)"
            case .badFirstCharacter(let kind):
                return "\(kind) must start with a letter or a digit"
            case .badCharacter(let kind, let character, let offset):
                return "\(kind) contains \(character) at offset \(offset); allowed are letters, digits, '.', '_' and '-'"
            }
        }
    }

    /// Checks `raw` against the id alphabet; `kind` names the id in the error ("model id").
    public static func validate(_ raw: String, kind: String, maxLength: Int = MeshIdentifier.maxLength) throws(Problem) {
        let bytes = raw.utf8
        guard let first = bytes.first else { throw .empty(kind: kind) }
        guard bytes.count <= maxLength else {
            throw .tooLong(kind: kind, length: bytes.count, limit: maxLength)
        }
        guard isAlphanumeric(first) else { throw .badFirstCharacter(kind: kind) }
        for (offset, byte) in bytes.enumerated() where !(isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")) {
            throw .badCharacter(kind: kind, character: describe(byte), offset: offset)
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    private static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        let hex = String(byte, radix: 16, uppercase: true)
        return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
    }
}

/// A registered model's id, validated on construction.
public struct ModelID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) throws(MeshIdentifier.Problem) {
        try self.init(rawValue, kind: "model id")
    }

    /// `kind` names the id in the error ("vmodel id": vmodels share the model id alphabet).
    public init(_ rawValue: String, kind: String) throws(MeshIdentifier.Problem) {
        try MeshIdentifier.validate(rawValue, kind: kind)
        self.rawValue = rawValue
    }

    /// For values that were validated before they were stored (etcd keys written by peers).
    public init(trusted rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }
    public static func < (lhs: ModelID, rhs: ModelID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A peer's id: the pod name in a StatefulSet (`mesh-0`), or `--peer-id`.
public struct PeerID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) throws(MeshIdentifier.Problem) {
        try MeshIdentifier.validate(rawValue, kind: "peer id", maxLength: 128)
        self.rawValue = rawValue
    }

    public init(trusted rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }
    public static func < (lhs: PeerID, rhs: PeerID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Ids travel as plain strings and are validated again when read.
protocol ValidatedIdentifier: Codable {
    init(_ rawValue: String) throws(MeshIdentifier.Problem)
    var rawValue: String { get }
}

extension ValidatedIdentifier {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        do {
            try self.init(raw)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

extension ModelID: ValidatedIdentifier {}
extension PeerID: ValidatedIdentifier {}
