import Foundation
import MeshTestSupport
import Testing

extension Integration {
    /// A peer that stops answering without closing its sockets (SIGSTOP) is found out by its
    /// hop's liveness probe: the request goes to another peer, which loads the model, instead of
    /// waiting out the deadline; and the frozen peer is skipped until it answers again.
    @Suite struct FrozenPeer {
        /// Leases longer than the tests, so only the hop's probe can find a frozen peer out.
        static let arguments = ["--lease-ttl", "60s", "--request-timeout", "30s"]

        /// Registers `model` through the first peer and loads its one copy with a request: the
        /// peer that holds it, another that must forward to it, and the holder's process id.
        static func placeOnlyCopy(_ model: String, in mesh: LocalMesh) async throws -> (holderID: String, entry: MeshPeerProcess, pid: Int32) {
            let file = try mesh.syntheticModel("\(model)-file")
            #expect(try await mesh.peers[0].register(model, storage: file).status == 201)
            let first = try await mesh.peers[0].infer(model)
            #expect(first.status == 200)
            let holderID = try #require(first.servedBy)
            let holder = try #require(mesh.peers.first { $0.id == holderID })
            let entry = try #require(mesh.peers.first { $0.id != holderID })
            return (holderID, entry, try #require(holder.pid))
        }

        @Test func aRequestForAFrozenHoldersModelIsServedElsewhereBeforeTheDeadline() async throws {
            try await withMesh(peers: 3, arguments: Self.arguments) { mesh in
                let (holderID, entry, pid) = try await Self.placeOnlyCopy("only-copy", in: mesh)
                kill(pid, SIGSTOP)
                defer { kill(pid, SIGCONT) }
                let started = ContinuousClock.now
                let answer = try await entry.infer("only-copy")
                let waited = ContinuousClock.now - started
                // Without the probe the hop would wait for the whole deadline and answer 504: the
                // lease (60 s) outlives the deadline (30 s), so nothing else can end the wait.
                #expect(answer.status == 200, "\(answer.error ?? "") after \(waited)")
                #expect(answer.servedBy != holderID)
                print("frozen holder: served elsewhere after \(waited)")
                // The next request skips the frozen peer at once (quarantined).
                let again = try await entry.infer("only-copy")
                #expect(again.status == 200)
                #expect(again.servedBy != holderID)
                // The entry peer's gossip names the frozen peer; the third peer probes it and
                // skips it too, before any request of its own has waited on it.
                let third = try #require(mesh.peers.first { $0.id != holderID && $0.id != entry.id })
                #expect(try await eventually(timeout: .seconds(15)) {
                    try await third.metric("modelmesh_peer_suspicions_total", labels: #"outcome="confirmed""#) >= 1
                })
                kill(pid, SIGCONT)
            }
        }

        /// The same over gRPC: the entry relays the call to the holder (as protobuf over HTTP/1.1,
        /// or as a gRPC call), and the hop's probe abandons it for a copy the entry loads itself.
        @Test(arguments: ["http1", "grpc"])
        func aGRPCHopToAFrozenHolderIsAbandonedBeforeTheDeadline(inferHops: String) async throws {
            try await withMesh(peers: 2, arguments: Self.arguments + ["--grpc-infer-hops", inferHops]) { mesh in
                let (_, entry, pid) = try await Self.placeOnlyCopy("grpc-only-copy", in: mesh)
                kill(pid, SIGSTOP)
                defer { kill(pid, SIGCONT) }
                let started = ContinuousClock.now
                let answer = try await entry.withGRPC { client in try await client.infer("grpc-only-copy", [1, 2]) }
                let waited = ContinuousClock.now - started
                // Without the probe the call would wait out the 30 s deadline and fail.
                #expect(answer.error == nil, "\(String(describing: answer.error)) after \(waited)")
                #expect(answer.servedBy == entry.id)
                #expect(answer.output.count == 2)
                print("frozen holder over gRPC (\(inferHops) hop): served by the entry after \(waited)")
                kill(pid, SIGCONT)
            }
        }

        /// The other side of the probe: a holder busy computing a model for long is slow, not
        /// frozen. Its computation runs on its inference threads, not on the event loops that
        /// answer the probe, so the hops waiting behind it are not abandoned and the model is not
        /// loaded a second time. (With `--inference-threads 0` about half of these requests were
        /// taken from the holder and served by a copy the entry loaded.)
        @Test func aHolderBusyComputingIsNotTakenForFrozen() async throws {
            try await withMesh(peers: 2, arguments: Self.arguments) { mesh in
                let file = try mesh.syntheticModel("computes-file", json: #"{"computeMillis": 300}"#)
                #expect(try await mesh.peers[0].register("computes", storage: file).status == 201)
                let first = try await mesh.peers[0].infer("computes")
                #expect(first.status == 200)
                let holderID = try #require(first.servedBy)
                let entry = try #require(mesh.peers.first { $0.id != holderID })
                // Eight clients at once, three requests each: on a holder with two inference
                // threads a request waits up to about a second, past the probe's floor (200 ms).
                let answers = try await withThrowingTaskGroup(of: [InferResult].self) { group in
                    for _ in 0..<8 {
                        group.addTask { [try await entry.infer("computes"), try await entry.infer("computes"), try await entry.infer("computes")] }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
                #expect(answers.count == 24)
                for answer in answers {
                    #expect(answer.status == 200, "\(answer.error ?? "")")
                    #expect(answer.servedBy == holderID)
                }
                #expect(try await entry.metric("modelmesh_loadmodel_total") == 0)
                // Every computation, the placing request's too, ran on the holder's threads.
                let holder = try #require(mesh.peers.first { $0.id == holderID })
                #expect(try await holder.metric("modelmesh_inference_computations_total", labels: #"ran="threads""#) == 25)
                #expect(try await holder.metric("modelmesh_inference_computations_total", labels: #"ran="loop""#) == 0)
            }
        }

        /// A client that asks for at most one run gets a 503 saying the frozen peer may or may
        /// not have run the request, instead of a retry that could run it a second time.
        @Test func anAtMostOnceRequestIsNotRetriedAfterItsPeerFroze() async throws {
            try await withMesh(peers: 2, arguments: Self.arguments) { mesh in
                let (holderID, entry, pid) = try await Self.placeOnlyCopy("once", in: mesh)
                // The entry peer must forward: it holds no copy, and this request, relayed to
                // the holder, leaves the model's record in its cache, so that the next one makes
                // its hop from the channel (``RESTChannelPath``).
                #expect(try await entry.infer("once").servedBy == holderID)
                let hops = try await entry.metric("modelmesh_rest_channel_hops_total")
                kill(pid, SIGSTOP)
                defer { kill(pid, SIGCONT) }
                let answer = try await entry.infer("once", headers: [("mm-at-most-once", "true")])
                #expect(try await entry.metric("modelmesh_rest_channel_hops_total") - hops == 1)
                #expect(answer.status == 503)
                #expect(answer.error?.contains("may or may not have run") == true, "\(answer.error ?? "")")
                #expect(answer.error?.contains("mm-at-most-once") == true)
                // Without the header the same request is retried and served.
                let retried = try await entry.infer("once")
                #expect(retried.status == 200)
                #expect(retried.servedBy == entry.id)
                kill(pid, SIGCONT)
            }
        }
    }
}
