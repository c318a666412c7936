import EtcdGateway
import Foundation
import MeshCore
import MeshTestSupport
import Testing

extension Integration {
    /// Partitions: etcd and each peer on a host of their own (network namespaces), links cut
    /// silently (packets dropped, nothing refused) and healed.
    @Suite struct NetworkFaults {
        static let arguments = ["--lease-ttl", "3s", "--copy-audit-interval", "1s", "--watch-check-interval", "1s"]

        /// A peer cut off from etcd, while clients and the other peers still reach it: it stops
        /// being ready but keeps serving what it holds to clients that reach it; the others drop
        /// it once its lease expires and serve its models themselves. After healing it is ready
        /// again and the copy records in etcd match what every peer holds.
        @Test func aPeerCutOffFromEtcdKeepsServingAndRejoins() async throws {
            try await withMesh(peers: 3, arguments: Self.arguments, networkLab: true) { mesh in
                let lab = try #require(mesh.lab)
                #expect(try await mesh.peers[0].register("cut", storage: try mesh.syntheticModel("cut")).status == 201)
                let first = try await mesh.peers[0].infer("cut")
                #expect(first.status == 200)
                let holder = try #require(mesh.peers.first { $0.id == first.servedBy })
                let other = try #require(mesh.peers.first { $0.id != holder.id })

                try lab.cut(holder.id, "etcd")
                #expect(try await eventually(timeout: .seconds(30)) { try await TestHTTP.get(holder.url + "/v2/health/ready").status == 503 })
                // Clients that still reach it are served from its copy.
                let local = try await holder.infer("cut")
                #expect(local.status == 200)
                #expect(local.servedBy == holder.id)
                // The others see its lease expire and serve the model without it.
                #expect(try await eventually(timeout: .seconds(30)) {
                    let answer = try await other.infer("cut")
                    return answer.status == 200 && answer.servedBy != holder.id
                })

                try lab.healAll()
                #expect(try await eventually(timeout: .seconds(30)) { try await TestHTTP.get(holder.url + "/v2/health/ready").status == 200 })
                try await expectRecordsMatchHoldings(mesh, within: .seconds(12))
            }
        }

        /// A peer cut off from the other peers but not from etcd or clients: requests entering
        /// elsewhere for a model only it holds are served by another peer, with no error.
        @Test func aPeerCutOffFromItsPeersCostsNoRequest() async throws {
            try await withMesh(peers: 3, arguments: Self.arguments + ["--request-timeout", "30s"], networkLab: true) { mesh in
                let lab = try #require(mesh.lab)
                #expect(try await mesh.peers[0].register("island", storage: try mesh.syntheticModel("island")).status == 201)
                let first = try await mesh.peers[0].infer("island")
                #expect(first.status == 200)
                let holder = try #require(mesh.peers.first { $0.id == first.servedBy })
                let others = mesh.peers.filter { $0.id != holder.id }

                try lab.isolate(holder.id, from: others.map(\.id))
                for entry in others {
                    let answer = try await entry.infer("island")
                    #expect(answer.status == 200, "\(answer.error ?? "")")
                    #expect(answer.servedBy != holder.id)
                }
                // The island still serves its own clients.
                #expect(try await holder.infer("island").status == 200)

                try lab.healAll()
                try await expectRecordsMatchHoldings(mesh, within: .seconds(12))
            }
        }

        /// A one-way cut: the peer's packets to etcd are dropped while etcd's to it pass. For
        /// TCP that is a cut both ways (no handshake completes), and the peer behaves as cut
        /// off; healing brings it back.
        @Test func aOneWayCutFromEtcdIsSurvived() async throws {
            try await withMesh(peers: 2, arguments: Self.arguments, networkLab: true) { mesh in
                let lab = try #require(mesh.lab)
                let peer = mesh.peers[1]
                try lab.cut(peer.id, "etcd", oneWay: true)
                #expect(try await eventually(timeout: .seconds(30)) { try await TestHTTP.get(peer.url + "/v2/health/ready").status == 503 })
                // Registration through the other peer still works while one peer is cut off.
                #expect(try await mesh.peers[0].register("oneway", storage: try mesh.syntheticModel("oneway")).status == 201)
                try lab.healAll()
                #expect(try await eventually(timeout: .seconds(30)) { try await TestHTTP.get(peer.url + "/v2/health/ready").status == 200 })
                // Its view caught up with what happened while it was away.
                #expect(try await eventually(timeout: .seconds(20)) { try await peer.infer("oneway").status == 200 })
            }
        }

        /// A lossy peer: a fifth of its packets dropped each way, to and from etcd, the other
        /// peers and clients. TCP retransmits; every request, whether it enters there or
        /// elsewhere, is answered, and the records settle after healing.
        @Test func aLossyPeerCostsNoRequest() async throws {
            try await withMesh(peers: 3, arguments: Self.arguments + ["--request-timeout", "30s"], networkLab: true) { mesh in
                let lab = try #require(mesh.lab)
                #expect(try await mesh.peers[0].register("flaky", storage: try mesh.syntheticModel("flaky")).status == 201)
                let first = try await mesh.peers[0].infer("flaky")
                #expect(first.status == 200)
                let holder = try #require(mesh.peers.first { $0.id == first.servedBy })

                try lab.degrade(holder.id, lossPercent: 20)
                for round in 0..<10 {
                    for entry in mesh.peers {
                        let answer = try await entry.infer("flaky")
                        #expect(answer.status == 200, "round \(round) through \(entry.id): \(answer.error ?? "")")
                    }
                }
                #expect(try lab.droppedPackets() > 0, "the loss rules dropped nothing")

                try lab.healAll()
                #expect(try lab.droppedPackets() == 0)
                try await expectRecordsMatchHoldings(mesh, within: .seconds(12))
            }
        }
    }
}

/// Waits until the copy records in etcd name, for every peer, as many copies as the peer says
/// it holds; fails after `within`.
func expectRecordsMatchHoldings(_ mesh: LocalMesh, within timeout: Duration, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    var last: [String] = []
    let matched = try await eventually(timeout: timeout) {
        last = try await mesh.copyRecordMismatches()
        return last.isEmpty
    }
    #expect(matched, "copy records and holdings differ: \(last.joined(separator: "; "))", sourceLocation: sourceLocation)
}
