/// Reconciles a peer's copy records in the store with the copies it holds.
///
/// Records and holdings drift apart in gray failures: a claim that timed out after etcd applied
/// it leaves a record of a copy that never loaded; a stale watch misses a record's deletion; an
/// unregistration during a partition leaves a copy loaded with no record. Each round compares
/// the two sides; a difference is acted on only when the next round still sees it, so writes
/// in flight (a claim being written, a record being deleted) are never mistaken for drift.
public struct CopyAudit: Sendable {
    public enum Finding: Sendable, Hashable {
        /// A record of a copy this peer does not hold: delete it.
        case orphanRecord(ModelID)
        /// A copy this peer holds with no record: write it (unless the model is gone).
        case missingRecord(ModelID)
    }

    private var suspected: Set<Finding> = []

    public init() {}

    /// One round. `recorded`: the models the store has a record of on this peer; `holding`: the
    /// copies here that should have one (queued, loading, loaded); `settling`: copies whose
    /// record is being written or deleted right now (claiming, draining), left alone. Returns
    /// the findings of this round that the round before saw too.
    public mutating func review(recorded: Set<ModelID>, holding: Set<ModelID>, settling: Set<ModelID>) -> [Finding] {
        var found: Set<Finding> = []
        for model in recorded.subtracting(holding).subtracting(settling) {
            found.insert(.orphanRecord(model))
        }
        for model in holding.subtracting(recorded) {
            found.insert(.missingRecord(model))
        }
        defer { suspected = found }
        return found.intersection(suspected).sorted { $0.model < $1.model }
    }
}

extension CopyAudit.Finding {
    public var model: ModelID {
        switch self {
        case .orphanRecord(let model), .missingRecord(let model): return model
        }
    }
}
