import MeshCore
@testable import MeshSimulation
import Testing

@Suite struct PeerDeathTests {
    func run() -> (MeshSimulator, SimulationConfiguration) {
        var configuration = smallConfiguration(seed: 5)
        configuration.peers = 6
        configuration.models = 300
        configuration.killEvery = .seconds(20)
        configuration.replaceAfter = .seconds(3)
        let catalog = ModelCatalog(configuration)
        let trace = Trace.generate(configuration, catalog: catalog)
        return (runMesh(configuration, catalog, trace), configuration)
    }

    @Test func deadPeersAreTriedOnlyUntilExcludedAndVanishWithTheirLease() {
        let (simulator, configuration) = run()
        let statistics = simulator.statistics
        let deaths = Dictionary(uniqueKeysWithValues: statistics.membership.filter { !$0.joined }.map { ($0.peer, $0.time) })
        #expect(deaths.count == 4)
        // The scenario does exercise refused connections.
        #expect(!statistics.deadPeerForwards.isEmpty)
        for forward in statistics.deadPeerForwards {
            let died = try! #require(deaths[forward.target])
            // Only between the death and the lease's end; afterwards the peer is out of the view.
            #expect(forward.time >= died)
            #expect(forward.time < died + configuration.leaseTTL.milliseconds)
        }
        // Once an entry peer saw a refused connection it excludes that peer (the quarantine
        // outlasts the lease), so each entry meets each dead peer at most once...
        let pairs = statistics.deadPeerForwards.map { "\($0.entry)>\($0.target)" }
        #expect(Set(pairs).count == pairs.count)
        // ...and a request never retries a peer it excluded.
        let perRequest = statistics.deadPeerForwards.map { "\($0.request)>\($0.target)" }
        #expect(Set(perRequest).count == perRequest.count)
        #expect(statistics.copiesLostWithPeers > 0)
    }

    @Test func theViewForgetsDeadPeersAndEveryRequestEnds() {
        let (simulator, _) = run()
        let statistics = simulator.statistics
        let dead = Set(statistics.membership.filter { !$0.joined }.map(\.peer))
        for peer in dead {
            #expect(simulator.view.peers[peer] == nil)
            #expect(simulator.view.holdings(of: peer).count == 0)
            #expect(simulator.view.loads[peer] == nil)
        }
        #expect(simulator.view.peers.count == 6)
        #expect(statistics.requests == simulator.trace.count)
        // Every copy in the view is on a live peer whose ledger holds it, and vice versa.
        for (model, holders) in simulator.view.copies {
            for (holder, _) in holders {
                let slot = try! #require(simulator.slotByID[holder])
                #expect(simulator.peers[Int(slot)].ledger.cache.entry(model) != nil)
            }
        }
        for peer in simulator.peers where peer.alive {
            #expect(simulator.view.holdings(of: peer.id).models == Set(peer.ledger.cache.entries.keys))
        }
    }
}
