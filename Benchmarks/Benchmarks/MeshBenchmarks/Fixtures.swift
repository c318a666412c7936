import MeshCore

/// Cluster views of a given size, built the way the mirror builds them: from change events.
enum Fixtures {
    static let now = MeshTime(millisecondsSinceEpoch: 1_800_000_000_000)

    static func peer(_ index: Int) -> PeerID { PeerID(trusted: "peer-\(index)") }
    static func model(_ index: Int) -> ModelID { ModelID(trusted: "model-\(index)") }

    static func peerRecord(_ index: Int) -> PeerRecord {
        PeerRecord(httpAddress: "10.0.\(index / 256).\(index % 256):8008", zone: "zone-\(index % 3)", capacityBytes: 16 << 30,
                   version: "bench", startTime: now, instance: "instance-\(index)",
                   pools: [RuntimePool(name: RuntimePool.builtin, formats: ["onnx", "synthetic"], capacityBytes: 16 << 30)])
    }

    static let record = ModelRecord(type: "synthetic", sizeHintBytes: 64 << 20, created: now)

    /// `peers` peers, `models` models with `copiesPerModel` loaded copies spread round-robin, and
    /// a fresh load report from every peer.
    static func view(peers: Int, models: Int, copiesPerModel: Int) -> ClusterView {
        var changes: [ClusterView.Change] = (0..<peers).map { .peerPut(peer($0), peerRecord($0)) }
        for index in 0..<models {
            for copy in 0..<copiesPerModel {
                let holder = (index * copiesPerModel + copy) % peers
                changes.append(.copyPut(model(index), peer(holder), CopyRecord(state: .loaded, since: now - .seconds(600), sizeBytes: 64 << 20)))
            }
        }
        var view = ClusterView()
        view.reset(revision: 1, changes: changes)
        for index in 0..<peers {
            view.receive(LoadReport(peer: peer(index), time: now, inFlight: index % 7, loading: 0, usedBytes: Int64(index % 50) << 28,
                                    capacityBytes: 16 << 30, modelCount: models * copiesPerModel / peers, lruTime: now - .seconds(Int64(index)),
                                    rates: []))
        }
        return view
    }
}
