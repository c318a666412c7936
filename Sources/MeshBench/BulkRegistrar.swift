import EtcdGateway
import Foundation
import MeshCore

/// Writes many model records straight into etcd: transactions of `putsPerTransaction` puts
/// (etcd's default `--max-txn-ops` is 128), `concurrency` of them in flight, through the JSON
/// gateway. Every record is the one `POST /v1/models` would write (same JSON, same key), without
/// the per-model "absent" check: the ids are fresh.
public struct BulkRegistrar: Sendable {
    public let etcd: EtcdClient
    public let layout: KeyLayout
    public var putsPerTransaction = 128
    public var concurrency = 8

    public init(etcd: EtcdClient, layout: KeyLayout) {
        self.etcd = etcd
        self.layout = layout
    }

    /// The id of model number `index`: zero-padded so key order is index order.
    public static func modelID(_ index: Int) -> String {
        let digits = String(index)
        return "bulk-" + String(repeating: "0", count: max(0, 7 - digits.count)) + digits
    }

    /// The stored JSON of a synthetic model at `storageURI`, exactly as the peers encode records.
    public static func recordJSON(storageURI: String) throws -> [UInt8] {
        let record = ModelRecord(type: "synthetic", storage: .uri(storageURI),
                                 created: MeshTime(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(record))
    }

    /// Registers models `range` with `record` as their value.
    public func register(_ range: Range<Int>, record: [UInt8]) async throws {
        let batches = stride(from: range.lowerBound, to: range.upperBound, by: putsPerTransaction).map {
            $0..<min($0 + putsPerTransaction, range.upperBound)
        }
        let value = String(decoding: record, as: UTF8.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = batches.makeIterator()
            func schedule(_ group: inout ThrowingTaskGroup<Void, any Error>) {
                guard let batch = next.next() else { return }
                group.addTask {
                    let puts = batch.map { TxnOperation.put(layout.model(try! ModelID(Self.modelID($0))), value) }
                    _ = try await etcd.txn(Txn(if: [], then: puts))
                }
            }
            for _ in 0..<concurrency { schedule(&group) }
            while try await group.next() != nil { schedule(&group) }
        }
    }
}
