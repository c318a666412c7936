import Foundation
import NIOCore
import NIOHTTP1

/// The client's reading of the gateway's answers as functions of bytes alone, so the fuzz
/// targets (Sources/FuzzTargets) run exactly what a peer runs on etcd's responses without a
/// connection. The client itself decodes the same wire types with the same decoder.
@_spi(Fuzzing) public enum ResponseDecoding {
    public static func range(_ body: [UInt8]) throws -> RangeResult {
        RangeResult(try decode(WireRangeResponse.self, body))
    }

    public static func put(_ body: [UInt8]) throws -> PutResult {
        PutResult(try decode(WirePutResponse.self, body))
    }

    public static func delete(_ body: [UInt8]) throws -> DeleteResult {
        DeleteResult(try decode(WireDeleteRangeResponse.self, body))
    }

    public static func txn(_ body: [UInt8]) throws -> TxnResult {
        TxnResult(try decode(WireTxnResponse.self, body))
    }

    /// The error a non-200 answer with `body` becomes.
    public static func error(_ body: [UInt8], status: Int, requestedRevision: Int64) -> EtcdError {
        EtcdClient.serverError(endpoint: "fuzz", status: .init(statusCode: status), body: .init(bytes: body), requestedRevision: requestedRevision)
    }

    /// Reads a watch stream's bytes line by line from `revision`, as a watch iterator does,
    /// returning the batches it would deliver; throws what the iterator would throw. Bytes after
    /// the last newline are an unfinished line, which the iterator keeps waiting on.
    public static func watch(_ stream: [UInt8], from revision: Int64) throws -> [WatchBatch] {
        var nextRevision = revision
        var batches: [WatchBatch] = []
        for line in stream.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
            if case .result(let batch?) = try WatchLine.read(Array(line), endpoint: "fuzz", nextRevision: &nextRevision) {
                batches.append(batch)
            }
        }
        return batches
    }

    static func decode<Response: Decodable>(_ type: Response.Type, _ body: [UInt8]) throws -> Response {
        try JSONDecoder().decode(type, from: Data(body))
    }
}
