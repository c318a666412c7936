/// Writes a model id into an encoded request message at a path of field numbers, as a ModelMesh
/// runtime's `methodInfos` asks (`idInjectionPath`): every number but the last names an embedded
/// message, the last a string field. The id replaces whatever the field held; embedded messages
/// on the way are created when absent. Everything else in the message is copied as it is, so a
/// request is relayed without decoding its tensors.
public enum ProtobufIDInjection {
    public static func inject(_ id: String, path: [UInt32], into message: [UInt8]) throws(ProtobufFieldScanner.Malformed) -> [UInt8] {
        guard let field = path.first else { return message }
        guard field > 0, field < 1 << 29 else {
            throw ProtobufFieldScanner.Malformed(description: "field number \(field) in the id injection path is out of range")
        }
        var kept: [UInt8] = []
        kept.reserveCapacity(message.count + id.utf8.count + 8)
        var nested: Range<Int>?
        var conflicting = false
        try ProtobufFieldScanner.forEachField(in: message) { number, wireType, whole, value in
            guard number == UInt64(field) else {
                kept.append(contentsOf: message[whole])
                return
            }
            // The field is replaced; of an embedded message, its last occurrence is kept (and
            // occurrences of it are merged by protobuf's rules only in the rare case there are several).
            if wireType == 2 { nested = value } else { conflicting = true }
        }
        if conflicting {
            throw ProtobufFieldScanner.Malformed(description: "field \(field) on the id injection path is not a string or message")
        }
        let replacement: [UInt8]
        if path.count == 1 {
            replacement = Array(id.utf8)
        } else {
            replacement = try inject(id, path: Array(path.dropFirst()), into: nested.map { Array(message[$0]) } ?? [])
        }
        appendVarint(UInt64(field) << 3 | 2, to: &kept)
        appendVarint(UInt64(replacement.count), to: &kept)
        kept.append(contentsOf: replacement)
        return kept
    }

    static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }
}
