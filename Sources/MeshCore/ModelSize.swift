/// The size a copy of a model is planned with: by placement on the peer choosing where a copy
/// goes, by admission on the peer that loads it, by copy scaling and by the simulator alike, so
/// a peer is never chosen for a copy on a size it would then refuse on another estimate.
public enum ModelSize {
    /// The registration's hint, else the largest size a load measured (loaded copies on any
    /// peer, or an earlier load on this one), else `defaultBytes` — but no more than the largest
    /// peer's capacity: a guess must not refuse a model as "fits nowhere" that may well fit (the
    /// load measures its real size).
    public static func planned(
        _ model: ModelID, record: ModelRecord, view: ClusterView, measuredHere: Int64? = nil, defaultBytes: Int64
    ) -> Int64 {
        if let hint = record.sizeHintBytes { return hint }
        var measured = measuredHere
        for copy in view.copies(of: model).values where copy.state == .loaded {
            measured = max(measured ?? copy.sizeBytes, copy.sizeBytes)
        }
        if let measured { return measured }
        let largest = view.peers.values.lazy.map(\.capacityBytes).max() ?? defaultBytes
        return min(defaultBytes, largest)
    }
}
