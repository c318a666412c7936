extension MeshPeerProcess {
    /// The sum of a metric's samples in this peer's /metrics, over the label sets that contain
    /// `labels` (e.g. `modelId="m"`), or over all of them.
    public func metric(_ name: String, labels: String? = nil) async throws -> Double {
        let text = try await TestHTTP.get(url + "/metrics").text
        return Self.sum(of: name, labels: labels, in: text)
    }

    /// The same over a scraped text.
    public static func sum(of name: String, labels: String? = nil, in text: String) -> Double {
        text.split(separator: "\n")
            .filter { $0.hasPrefix(name + "{") || ($0.hasPrefix(name + " ") && labels == nil) }
            .filter { line in labels.map { line.prefix(while: { $0 != " " }).contains($0) } ?? true }
            .compactMap { Double($0.split(separator: " ").last ?? "") }
            .reduce(0, +)
    }
}

extension LocalMesh {
    /// Peers whose copy records in etcd do not number what the peer says it holds
    /// (`modelmesh_instance_models_total`), as "peer: N records, M held"; empty when they agree.
    public func copyRecordMismatches(among peers: [MeshPeerProcess]? = nil) async throws -> [String] {
        let keys = try etcdctlGet("/copies/", keysOnly: true).split(separator: "\n").filter { !$0.isEmpty }
        var mismatches: [String] = []
        for peer in peers ?? self.peers {
            let recorded = keys.filter { $0.hasSuffix("/" + peer.id) }.count
            let held = Int(try await peer.metric("modelmesh_instance_models_total"))
            if recorded != held { mismatches.append("\(peer.id): \(recorded) records, \(held) held") }
        }
        return mismatches
    }
}
