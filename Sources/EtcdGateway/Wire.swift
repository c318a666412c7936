import Foundation

// The JSON gateway's encoding of etcd's protobuf messages: bytes are base64, 64-bit integers are
// strings, and fields at their zero value are left out. These types translate; nothing outside
// this module sees them.

/// An int64/uint64 that arrives as a JSON string (or, leniently, a number).
struct WireInt: Codable, Sendable {
    var value: Int64

    init(_ value: Int64) { self.value = value }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            if let parsed = Int64(text) {
                value = parsed
            } else if let unsigned = UInt64(text) {
                value = Int64(bitPattern: unsigned)
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an integer: \(text)")
            }
        } else {
            value = try container.decode(Int64.self)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(String(value))
    }
}

/// Bytes as base64 text.
struct WireBytes: Codable, Sendable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not base64")
        }
        bytes = Array(data)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Data(bytes).base64EncodedString())
    }
}

struct WireHeader: Decodable {
    var cluster_id: WireInt?
    var member_id: WireInt?
    var revision: WireInt?
    var raft_term: WireInt?

    var header: ResponseHeader {
        ResponseHeader(
            clusterID: UInt64(bitPattern: cluster_id?.value ?? 0),
            memberID: UInt64(bitPattern: member_id?.value ?? 0),
            revision: revision?.value ?? 0,
            raftTerm: UInt64(bitPattern: raft_term?.value ?? 0)
        )
    }
}

extension Optional where Wrapped == WireHeader {
    var header: ResponseHeader { self?.header ?? ResponseHeader(clusterID: 0, memberID: 0, revision: 0, raftTerm: 0) }
}

struct WireKeyValue: Decodable {
    var key: WireBytes?
    var create_revision: WireInt?
    var mod_revision: WireInt?
    var version: WireInt?
    var value: WireBytes?
    var lease: WireInt?

    var keyValue: KeyValue {
        KeyValue(
            key: key?.bytes ?? [],
            value: value?.bytes ?? [],
            createRevision: create_revision?.value ?? 0,
            modRevision: mod_revision?.value ?? 0,
            version: version?.value ?? 0,
            lease: LeaseID(lease?.value ?? 0)
        )
    }
}

/// The error body the gateway sends with a non-200 status.
struct WireError: Decodable {
    var error: String?
    var message: String?
    var code: Int?

    var text: String { message ?? error ?? "unknown error" }
}

// MARK: Requests

struct WireRangeRequest: Encodable {
    var key: WireBytes
    var range_end: WireBytes?
    var limit: WireInt?
    var revision: WireInt?
    var sort_order: String?
    var sort_target: String?
    var serializable: Bool?
    var keys_only: Bool?
    var count_only: Bool?
    var min_mod_revision: WireInt?
    var max_mod_revision: WireInt?
    var min_create_revision: WireInt?
    var max_create_revision: WireInt?
}

struct WirePutRequest: Encodable {
    var key: WireBytes
    var value: WireBytes
    var lease: WireInt?
    var prev_kv: Bool?
    var ignore_value: Bool?
    var ignore_lease: Bool?
}

struct WireDeleteRangeRequest: Encodable {
    var key: WireBytes
    var range_end: WireBytes?
    var prev_kv: Bool?
}

struct WireCompare: Encodable {
    var result: String
    var target: String
    var key: WireBytes
    var range_end: WireBytes?
    var version: WireInt?
    var create_revision: WireInt?
    var mod_revision: WireInt?
    var value: WireBytes?
    var lease: WireInt?
}

struct WireRequestOp: Encodable {
    var request_range: WireRangeRequest?
    var request_put: WirePutRequest?
    var request_delete_range: WireDeleteRangeRequest?
    var request_txn: WireTxnRequest?
}

final class WireTxnRequest: Encodable {
    var compare: [WireCompare]
    var success: [WireRequestOp]
    var failure: [WireRequestOp]

    init(compare: [WireCompare], success: [WireRequestOp], failure: [WireRequestOp]) {
        self.compare = compare
        self.success = success
        self.failure = failure
    }
}

// MARK: Responses

struct WireRangeResponse: Decodable {
    var header: WireHeader?
    var kvs: [WireKeyValue]?
    var more: Bool?
    var count: WireInt?
}

struct WirePutResponse: Decodable {
    var header: WireHeader?
    var prev_kv: WireKeyValue?
}

struct WireDeleteRangeResponse: Decodable {
    var header: WireHeader?
    var deleted: WireInt?
    var prev_kvs: [WireKeyValue]?
}

struct WireResponseOp: Decodable {
    var response_range: WireRangeResponse?
    var response_put: WirePutResponse?
    var response_delete_range: WireDeleteRangeResponse?
    var response_txn: WireTxnResponse?
}

final class WireTxnResponse: Decodable {
    var header: WireHeader?
    var succeeded: Bool?
    var responses: [WireResponseOp]?
}
