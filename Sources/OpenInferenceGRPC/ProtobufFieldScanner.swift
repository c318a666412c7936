/// Reads one top-level string field of an encoded protobuf message without decoding the rest.
///
/// A peer routing `ModelInfer` needs only `model_name` (field 1); the tensors, which make up
/// nearly all of the message, are skipped by their length prefixes and never copied. The scan
/// still checks the top-level framing, so a truncated or garbled message is refused at the first
/// peer instead of being relayed.
public enum ProtobufFieldScanner {
    public struct Malformed: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The last value of string field `field` (protobuf's rule for repeated singular fields), or
    /// nil when the message does not set it.
    public static func string<Bytes: Collection<UInt8>>(field: UInt64, in bytes: Bytes) throws(Malformed) -> String? where Bytes.Index == Int {
        var found: Range<Int>?
        try forEachLengthDelimited(in: bytes) { number, range in
            if number == field { found = range }
        }
        guard let found else { return nil }
        guard let text = String(validating: bytes[found], as: UTF8.self) else {
            throw Malformed(description: "field \(field) is not valid UTF-8")
        }
        return text
    }

    /// ``string(field:in:)`` for a message's bytes as gRPC hands them over: a call from another
    /// module would otherwise run the generic code unspecialized (six allocations per request).
    public static func string(field: UInt64, in bytes: [UInt8]) throws(Malformed) -> String? {
        try string(field: field, in: bytes[...])
    }

    /// Every value of length-delimited field `field` (a repeated message, string or bytes), in order.
    public static func values<Bytes: Collection<UInt8>>(field: UInt64, in bytes: Bytes) throws(Malformed) -> [Bytes.SubSequence] where Bytes.Index == Int {
        var values: [Bytes.SubSequence] = []
        try forEachLengthDelimited(in: bytes) { number, range in
            if number == field { values.append(bytes[range]) }
        }
        return values
    }

    /// Walks the top-level fields, checking their framing, and hands each length-delimited one's
    /// number and bytes to `visit`.
    static func forEachLengthDelimited<Bytes: Collection<UInt8>>(
        in bytes: Bytes, _ visit: (UInt64, Range<Int>) -> Void
    ) throws(Malformed) where Bytes.Index == Int {
        try forEachField(in: bytes) { number, wireType, _, value in
            if wireType == 2 { visit(number, value) }
        }
    }

    /// Walks the top-level fields, checking their framing: each field's number, wire type, whole
    /// range (key included) and value range (a length-delimited field's bytes without their length).
    static func forEachField<Bytes: Collection<UInt8>>(
        in bytes: Bytes, _ visit: (_ number: UInt64, _ wireType: UInt64, _ whole: Range<Int>, _ value: Range<Int>) -> Void
    ) throws(Malformed) where Bytes.Index == Int {
        var reader = Reader(bytes: bytes)
        while !reader.isAtEnd {
            let fieldStart = reader.offset
            let key = try reader.varint()
            let number = key >> 3
            guard number > 0 else { throw Malformed(description: "field number 0 at offset \(reader.offset)") }
            var valueStart = reader.offset
            switch key & 7 {
            case 0: _ = try reader.varint()
            case 1: try reader.skip(8)
            case 2:
                let length = try reader.varint()
                guard length <= UInt64(reader.remaining) else {
                    throw Malformed(description: "field \(number) claims \(length) bytes but only \(reader.remaining) remain")
                }
                valueStart = reader.offset
                try reader.skip(Int(length))
            case 5: try reader.skip(4)
            default: throw Malformed(description: "unsupported wire type \(key & 7) for field \(number)")
            }
            visit(number, key & 7, fieldStart..<reader.offset, valueStart..<reader.offset)
        }
    }

    struct Reader<Bytes: Collection<UInt8>> where Bytes.Index == Int {
        let bytes: Bytes
        var offset: Int

        init(bytes: Bytes) {
            self.bytes = bytes
            self.offset = bytes.startIndex
        }

        var isAtEnd: Bool { offset >= bytes.endIndex }
        var remaining: Int { bytes.endIndex - offset }

        mutating func varint() throws(Malformed) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while shift < 64 {
                guard offset < bytes.endIndex else { throw Malformed(description: "truncated varint at offset \(offset)") }
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            throw Malformed(description: "varint longer than 10 bytes at offset \(offset)")
        }

        mutating func skip(_ count: Int) throws(Malformed) {
            guard count <= remaining else { throw Malformed(description: "truncated field at offset \(offset)") }
            offset += count
        }
    }
}
