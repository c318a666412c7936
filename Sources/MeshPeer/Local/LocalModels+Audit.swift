import CoreMetrics
import MeshCore

extension LocalModels {
    /// One round of ``CopyAudit``: `recorded` is what the mirror shows of this peer's copy
    /// records. Orphaned records are deleted (only while this peer's lease owns them); missing
    /// ones are written again, which also unloads copies of models no longer registered.
    /// Returns what was repaired.
    @discardableResult
    public func auditCopyRecords(recorded: Set<ModelID>) async -> [CopyAudit.Finding] {
        let findings = state.withLock { state in
            let (holding, settling) = state.ledger.auditedCopies()
            return state.audit.review(recorded: recorded, holding: holding, settling: settling)
        }
        guard !findings.isEmpty else { return [] }
        var missing: Set<ModelID> = []
        for finding in findings {
            switch finding {
            case .orphanRecord(let model):
                logger.warning("copy audit: deleting the record of a copy this peer does not hold", metadata: ["model": "\(model)"])
                do {
                    try await store.deleteCopy(model, on: peerID, lease: leaseProvider())
                } catch {
                    logger.warning("copy audit: could not delete the record", metadata: ["model": "\(model)", "error": "\(error)"])
                }
                Counter(label: "modelmesh_copy_audit_repairs_total", dimensions: [("finding", "orphan_record")]).increment()
            case .missingRecord(let model):
                logger.warning("copy audit: writing the missing record of a copy this peer holds", metadata: ["model": "\(model)"])
                missing.insert(model)
                Counter(label: "modelmesh_copy_audit_repairs_total", dimensions: [("finding", "missing_record")]).increment()
            }
        }
        if !missing.isEmpty {
            await perform(state.withLock { $0.ledger.recordsToRestore(of: missing) })
        }
        return findings
    }
}
