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

/// Named parameters, in the order they were given.
public struct Parameters: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    public private(set) var entries: [(String, ParameterValue)]

    public init() { entries = [] }

    public init(dictionaryLiteral elements: (String, ParameterValue)...) {
        entries = elements
    }

    public var isEmpty: Bool { entries.isEmpty }

    public subscript(name: String) -> ParameterValue? {
        get { entries.first { $0.0 == name }?.1 }
        set {
            if let index = entries.firstIndex(where: { $0.0 == name }) {
                if let newValue { entries[index].1 = newValue } else { entries.remove(at: index) }
            } else if let newValue {
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
