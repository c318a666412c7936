import MeshCore
import Testing

@Suite struct ClusterViewTests {
    @Test func holdingsFollowCopies() {
        var view = view(peers: ["a", "b"])
        view.addCopy(model("m1"), on: peer("a"), size: 10)
        view.addCopy(model("m2"), on: peer("a"), size: 20)
        view.addCopy(model("m1"), on: peer("b"), size: 10)
        #expect(view.holdings(of: peer("a")).count == 2)
        #expect(view.holdings(of: peer("a")).bytes == 30)
        // Loading → loaded with the measured size.
        view.addCopy(model("m2"), on: peer("a"), size: 25)
        #expect(view.holdings(of: peer("a")).bytes == 35)
        view.apply(.copyDeleted(model("m1"), peer("a")))
        #expect(view.holdings(of: peer("a")).models == [model("m2")])
        #expect(view.holdings(of: peer("a")).bytes == 25)
        view.apply(.copyDeleted(model("m1"), peer("a")))
        #expect(view.holdings(of: peer("a")).bytes == 25)
        #expect(view.copies(of: model("m1")).keys.sorted() == [peer("b")])
    }

    @Test func resetReplacesMirroredStateButKeepsGossip() {
        var view = view(peers: ["a"])
        let clock = FakeClock()
        view.receive(LoadReport(peer: peer("a"), time: clock.now, inFlight: 3, loading: 0, usedBytes: 0, capacityBytes: 1,
                                modelCount: 0, lruTime: nil, rates: []))
        view.addCopy(model("m"), on: peer("a"))
        view.reset(revision: 42, changes: [.peerPut(peer("a"), peerRecord()), .copyPut(model("n"), peer("a"), CopyRecord(state: .loaded, since: .epoch, sizeBytes: 5))])
        #expect(view.revision == 42)
        #expect(view.copies(of: model("m")).isEmpty)
        #expect(view.holdings(of: peer("a")).bytes == 5)
        #expect(view.report(for: peer("a"), now: clock.now, maxAge: .seconds(5))?.inFlight == 3)
    }

    @Test func reportsExpireAndOlderOnesAreIgnored() {
        var view = view(peers: ["a"])
        var clock = FakeClock()
        func report(_ inFlight: Int, at time: MeshTime) -> LoadReport {
            LoadReport(peer: peer("a"), time: time, inFlight: inFlight, loading: 0, usedBytes: 0, capacityBytes: 1, modelCount: 0, lruTime: nil, rates: [])
        }
        view.receive(report(5, at: clock.now))
        view.receive(report(9, at: clock.now - .seconds(1)))
        #expect(view.report(for: peer("a"), now: clock.now, maxAge: .seconds(5))?.inFlight == 5)
        clock.advance(.seconds(6))
        #expect(view.report(for: peer("a"), now: clock.now, maxAge: .seconds(5)) == nil)
        view.expireReports(now: clock.now, maxAge: .seconds(5))
        #expect(view.loads.isEmpty)
    }

    @Test func keyLayoutRoundTrips() {
        let layout = KeyLayout(clusterName: "prod")
        #expect(layout.copy(model("m"), on: peer("mesh-0")) == "/mm/prod/copies/m/mesh-0")
        #expect(layout.entry(forKey: "/mm/prod/copies/m/mesh-0") == .copy(model("m"), peer("mesh-0")))
        #expect(layout.entry(forKey: "/mm/prod/models/m") == .model(model("m")))
        #expect(layout.entry(forKey: "/mm/prod/peers/mesh-1") == .peer(peer("mesh-1")))
        #expect(layout.entry(forKey: "/mm/prod/failures/m/mesh-1") == .failure(model("m"), peer("mesh-1")))
        #expect(layout.entry(forKey: "/mm/prod/vmodels/v") == .vmodel(model("v")))
        #expect(layout.entry(forKey: "/mm/prod/pinned/m") == .pinned(model("m")))
        #expect(layout.entry(forKey: "/mm/other/models/m") == nil)
        #expect(layout.entry(forKey: "/mm/prod/models/..") == nil)
        #expect(layout.entry(forKey: "/mm/prod/copies/m") == nil)
    }
}
