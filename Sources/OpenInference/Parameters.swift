/// A parameter value: the protocol allows strings, numbers and booleans.
public enum ParameterValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)

    public var description: String {
        switch self {
        case .string(let value): return value
        case .int(let value): return String(value)
        case .double(let value): return String(value)
        case .bool(let value): return String(value)
        }
    }

    public var int64Value: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value: return Int64(value)
        case .string(let value): return Int64(value)
        default: return nil
        }
    }

    public var boolValue: Bool? {
        switch self {
        case .bool(let value): return value
        case .string(let value): return value == "true" ? true : value == "false" ? false : nil
        default: return nil
        }
    }

    var json: JSONValue {
        switch self {
        case .string(let value): return .string(value)
        case .int(let value): return .int(value)
        case .double(let value): return .double(value)
        case .bool(let value): return .bool(value)
        }
    }
}

/// Named parameters, in the order they were given, with a hashed index: a request may carry
/// many of them, and a linear lookup per insert would make decoding quadratic.
public struct Parameters: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    public private(set) var entries: [(String, ParameterValue)]
    private var index: [String: Int]

    public init() {
        entries = []
        index = [:]
    }

    public init(dictionaryLiteral elements: (String, ParameterValue)...) {
        self.init()
        for (name, value) in elements { self[name] = value }
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    public subscript(name: String) -> ParameterValue? {
        get { index[name].map { entries[$0].1 } }
        set {
            if let position = index[name] {
                if let newValue {
                    entries[position].1 = newValue
                } else {
                    entries.remove(at: position)
                    index[name] = nil
                    for later in position..<entries.count { index[entries[later].0] = later }
                }
            } else if let newValue {
                index[name] = entries.count
                entries.append((name, newValue))
            }
        }
    }

    public static func == (lhs: Parameters, rhs: Parameters) -> Bool {
        lhs.entries.count == rhs.entries.count && zip(lhs.entries, rhs.entries).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    public func hash(into hasher: inout Hasher) {
        for (name, value) in entries {
            hasher.combine(name)
            hasher.combine(value)
        }
    }
}
