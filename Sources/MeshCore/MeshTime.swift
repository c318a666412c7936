/// A wall-clock instant in milliseconds since the Unix epoch.
///
/// MeshCore never reads a clock: the shell passes `now` in, and tests pass whatever they like.
/// Records store times as ISO-8601 UTC text (`2026-11-25T14:03:11.123Z`) so that
/// `etcdctl get --prefix` reads like a log.
public struct MeshTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public static let epoch = MeshTime(millisecondsSinceEpoch: 0)

    public static func < (lhs: MeshTime, rhs: MeshTime) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    // The arithmetic saturates: times and ages arrive from other peers and from etcd, and a
    // hostile value must not trap the peer that computes with it.

    public static func + (lhs: MeshTime, rhs: Duration) -> MeshTime {
        MeshTime(millisecondsSinceEpoch: lhs.millisecondsSinceEpoch.addingSaturating(rhs.milliseconds))
    }

    public static func - (lhs: MeshTime, rhs: Duration) -> MeshTime {
        MeshTime(millisecondsSinceEpoch: lhs.millisecondsSinceEpoch.subtractingSaturating(rhs.milliseconds))
    }

    /// The time from `earlier` to `self`.
    public static func - (lhs: MeshTime, rhs: MeshTime) -> Duration {
        .milliseconds(lhs.millisecondsSinceEpoch.subtractingSaturating(rhs.millisecondsSinceEpoch))
    }

    public var description: String { iso8601 }

    /// `YYYY-MM-DDTHH:MM:SS.sssZ`.
    public var iso8601: String {
        let millis = millisecondsSinceEpoch
        let days = floorDivide(millis, 86_400_000)
        let dayMillis = millis - days * 86_400_000
        let (year, month, day) = MeshTime.civil(fromDays: days)
        let hour = dayMillis / 3_600_000
        let minute = dayMillis / 60_000 % 60
        let second = dayMillis / 1000 % 60
        let fraction = dayMillis % 1000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(fraction, 3))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (UTC only).
    public init?(iso8601 text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z"),
              bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              let year = number(bytes[0..<4]), let month = number(bytes[5..<7]), let day = number(bytes[8..<10]),
              let hour = number(bytes[11..<13]), let minute = number(bytes[14..<16]), let second = number(bytes[17..<19]),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var millis: Int64 = 0
        let rest = bytes[19..<(bytes.count - 1)]
        if !rest.isEmpty {
            guard rest.first == UInt8(ascii: "."), rest.count >= 2 else { return nil }
            let digits = rest.dropFirst()
            guard let value = number(digits.prefix(3)) else { return nil }
            millis = value * [100, 10, 1][min(digits.count, 3) - 1]
            guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        }
        let days = MeshTime.days(fromCivil: year, month, day)
        millisecondsSinceEpoch = days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis
    }

    // Howard Hinnant's days-from-civil algorithms, valid for the proleptic Gregorian calendar.
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension MeshTime: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let millis = try? container.decode(Int64.self) {
            self.init(millisecondsSinceEpoch: millis)
            return
        }
        let text = try container.decode(String.self)
        guard let time = MeshTime(iso8601: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO-8601 UTC time: \(text)")
        }
        self = time
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso8601)
    }
}

extension Duration {
    /// Whole milliseconds, rounded toward zero; clamped to Int64's range.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds.multipliedSaturating(by: 1000).addingSaturating(attoseconds / 1_000_000_000_000_000)
    }

    /// Seconds as a floating-point number.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

private func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    a >= 0 ? a / b : (a - b + 1) / b
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}

private func number<S: Collection>(_ digits: S) -> Int64? where S.Element == UInt8 {
    guard !digits.isEmpty else { return nil }
    var value: Int64 = 0
    for digit in digits {
        guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
        value = value * 10 + Int64(digit - UInt8(ascii: "0"))
    }
    return value
}
