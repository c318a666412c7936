@_spi(Fuzzing) import EtcdGateway
import Foundation
import MeshCore

/// etcd JSON gateway answers, read as the client reads each kind (range, put, delete, txn,
/// an error body, a watch stream from now and from revision 1), and the keys and records in them read as
/// the peer's mirror reads them (`EtcdMeshStore.event(for:deleted:)`) into a cluster view.
/// Input: the response body; every reading is tried on it. The outcome is the range reading's
/// (the mirror's main read) or, for a body of complete lines, the watch reading's.
enum EtcdTarget {
    static let layout = KeyLayout(clusterName: "fuzz")

    static func run(_ input: [UInt8]) -> FuzzOutcome {
        var view = ClusterView()
        var refusals: [String] = []
        @discardableResult
        func attempt(_ kind: String, _ body: () throws -> [KeyValue]) -> Bool {
            do {
                for kv in try body() { mirror(kv, into: &view) }
                return true
            } catch {
                refusals.append("\(kind): \(error)")
                return false
            }
        }
        let range = attempt("range") { try ResponseDecoding.range(input).kvs }
        attempt("put") { try ResponseDecoding.put(input).previous.map { [$0] } ?? [] }
        attempt("delete") { try ResponseDecoding.delete(input).previous }
        attempt("txn") { try ResponseDecoding.txn(input).ranges.flatMap(\.kvs) }
        var batchCount = 0
        // From 0 the watch starts "from now" (the creation answer sets where); from 1 it resumes.
        let fromNow = attempt("watch from now") { try watchEvents(input, from: 0, count: &batchCount) }
        let resumed = attempt("watch from 1") { try watchEvents(input, from: 1, count: &batchCount) }
        let watch = fromNow || resumed
        _ = ResponseDecoding.error(input, status: 500, requestedRevision: 1)
        view.advance(to: Int64(input.count))
        return range || (watch && batchCount > 0) ? .accepted : .refused(refusals.joined(separator: "; "))
    }

    static func watchEvents(_ input: [UInt8], from revision: Int64, count: inout Int) throws -> [KeyValue] {
        let batches = try ResponseDecoding.watch(input, from: revision)
        for (earlier, later) in zip(batches, batches.dropFirst()) {
            invariant(later.revision > earlier.revision, "watch batches went back from revision \(earlier.revision) to \(later.revision)")
        }
        count += batches.count
        return batches.flatMap { $0.events.map(\.kv) }
    }

    /// One key-value as the mirror takes it: unknown keys and unreadable records are skipped.
    static func mirror(_ kv: KeyValue, into view: inout ClusterView) {
        guard let entry = layout.entry(forKey: kv.keyString) else { return }
        let decoder = JSONDecoder()
        let value = Data(kv.value)
        switch entry {
        case .peer(let peer):
            if let record = try? decoder.decode(PeerRecord.self, from: value) { view.apply(.peerPut(peer, record)) }
        case .copy(let model, let peer):
            if let record = try? decoder.decode(CopyRecord.self, from: value) { view.apply(.copyPut(model, peer, record)) }
        case .failure(let model, let peer):
            if let record = try? decoder.decode(FailureRecord.self, from: value) { view.apply(.failurePut(model, peer, record)) }
        case .pinned(let model):
            view.apply(.pinnedPut(model, minCopies: Int(kv.valueString) ?? 1))
        case .model:
            _ = try? decoder.decode(ModelRecord.self, from: value)
        case .vmodel:
            _ = try? decoder.decode(VModelRecord.self, from: value)
        case .transition, .decision:
            break
        }
        for holding in view.holdings.values { invariant(holding.bytes >= 0, "a peer holds \(holding.bytes) bytes") }
    }
}
