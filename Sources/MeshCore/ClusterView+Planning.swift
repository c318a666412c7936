/// What routing and copy scaling read from the view about one model (shared by the peer and
/// the simulator, so both plan alike).
extension ClusterView {
    /// Each holder's current rate for `model`: `own` for this peer `me`, gossip for the others
    /// (reports older than `maxAge` are left out).
    public func holderRates(
        of model: ModelID, me: PeerID, own: LoadReport.ModelRate?, now: MeshTime, maxAge: Duration
    ) -> [PeerID: LoadReport.ModelRate] {
        var rates: [PeerID: LoadReport.ModelRate] = [:]
        for holder in copies(of: model).keys {
            if holder == me {
                rates[holder] = own
            } else if let rate = report(for: holder, now: now, maxAge: maxAge)?.rate(of: model) {
                rates[holder] = rate
            }
        }
        return rates
    }
}
