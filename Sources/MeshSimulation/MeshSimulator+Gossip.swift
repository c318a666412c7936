import MeshCore

/// Load gossip: every interval each live peer builds its report from its own state; the reports
/// reach the view (every peer's, as there is one) `gossipDelay` later.
extension MeshSimulator {
    mutating func gossip() {
        var reports: [LoadReport] = []
        reports.reserveCapacity(live.slots.count)
        for slot in live.slots {
            reports.append(peers[Int(slot)].ledger.loadReport(now: now))
        }
        let delay = configuration.gossipDelay.milliseconds
        if delay <= 0 {
            deliver(reports)
        } else {
            events.schedule(.deliver(reports), at: clock + delay)
        }
    }

    mutating func deliver(_ reports: [LoadReport]) {
        for report in reports where view.peers[report.peer] != nil {
            view.receive(report)
        }
        view.expireReports(now: now, maxAge: configuration.reportMaxAge)
    }
}
