import MeshCore
import MeshManagementGRPC
import OpenInference

extension PeerNode {
    /// ModelMesh's status of a model, from etcd: NOT_FOUND for an unknown model (a status, not
    /// an error). Unlike ModelMesh, copies report whether they are loading or loaded.
    func modelStatusInfo(_ id: ModelID) async throws -> Mmesh_ModelStatusInfo {
        let status: ModelStatus
        do {
            status = try await self.status(of: id, withScaling: false)
        } catch let error as MeshError where error.kind == .notFound {
            return Mmesh_ModelStatusInfo.with { $0.status = .notFound }
        }
        return ModelStatusMapping.info(status)
    }

    /// ModelMesh's status of a vmodel and its models.
    func vmodelStatusInfo(_ record: VModelRecord) async throws -> Mmesh_VModelStatusInfo {
        var info = Mmesh_VModelStatusInfo()
        info.status = !record.inTransition ? .defined : record.failed ? .transitionFailed : .transitioning
        info.activeModelID = record.activeModel.rawValue
        info.targetModelID = record.targetModel.rawValue
        info.owner = record.owner
        info.activeModelStatus = try await modelStatusInfo(record.activeModel)
        if record.inTransition {
            var target = try await modelStatusInfo(record.targetModel)
            if record.failed {
                if target.status != .loaded && target.status != .loading { target.status = .loadingFailed }
                if let message = record.failureMessage, !target.errors.contains(message) { target.errors.insert(message, at: 0) }
            }
            info.targetModelStatus = target
        }
        return info
    }
}

/// The REST status of a model (``ModelStatus``) in ModelMesh's message.
enum ModelStatusMapping {
    static func info(_ status: ModelStatus) -> Mmesh_ModelStatusInfo {
        var info = Mmesh_ModelStatusInfo()
        switch status.status {
        case .loaded: info.status = .loaded
        case .loading: info.status = .loading
        case .loadingFailed: info.status = .loadingFailed
        case .notLoaded: info.status = .notLoaded
        }
        info.errors = status.failures.map { "\($0.peer): \($0.message)" }
        var copies: [(Int64, Mmesh_ModelStatusInfo.ModelCopyInfo)] = status.copies.map { copy in
            (copy.since.millisecondsSinceEpoch, .with {
                $0.location = copy.peer
                $0.copyStatus = copy.state == CopyRecord.State.loaded.rawValue ? .loaded : .loading
                $0.time = UInt64(max(0, copy.since.millisecondsSinceEpoch))
            })
        }
        copies += status.failures.map { failure in
            (failure.time.millisecondsSinceEpoch, .with {
                $0.location = failure.peer
                $0.copyStatus = .loadingFailed
                $0.time = UInt64(max(0, failure.time.millisecondsSinceEpoch))
            })
        }
        info.modelCopyInfos = copies.sorted { $0.0 > $1.0 }.map(\.1)
        return info
    }
}
