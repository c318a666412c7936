import EtcdGateway
import MeshCore
import OpenInference

extension RequestRouter {
    /// Loads one more copy of `model` on a peer that holds none (the placement policy's choice),
    /// to grow a model to a number of copies. Returns the peer once the copy is claimed there
    /// (a local load goes on in the background) or loaded (a remote one).
    func addCopy(of model: ModelID, forwarder: PeerForwarder, deadline: ContinuousClock.Instant) async throws -> PeerID {
        var excluded = health.unreachable
        var problems: [String] = []
        for _ in 0..<maxAttempts {
            guard ContinuousClock.now < deadline else { break }
            let record: ModelRecord
            do {
                guard let found = try await mirror.model(model) else { throw InferenceError.notFound("model \(model) is not registered") }
                record = found
            } catch let error as EtcdError {
                throw InferenceError.unavailable("cannot look up \(model): \(error)")
            }
            let view = mirror.view
            let choice = decisions.placement.choose(
                for: model, record: record, sizeBytes: sizeEstimate(model, record, view), view: view, excluded: excluded, now: .now
            )
            guard case .peer(let peer) = choice else {
                if case .none(let refusal) = choice {
                    throw InferenceError.unavailable(refusal.description + (problems.isEmpty ? "" : " (tried: \(problems.joined(separator: "; ")))"))
                }
                break
            }
            if peer == peerID {
                do {
                    try await local.load(model, record: record, decidedAt: view.revision)
                    return peer
                } catch let error as LocalError {
                    switch error {
                    case .lostRace(_, _, let revision):
                        await mirror.waitFor(revision: revision, timeout: .milliseconds(500))
                    case .unregistered:
                        throw InferenceError.notFound("model \(model) is not registered")
                    default:
                        excluded.insert(peer)
                        problems.append(error.description)
                    }
                }
                continue
            }
            guard let peerRecord = view.peers[peer] else {
                excluded.insert(peer)
                continue
            }
            do {
                let call = RESTLoadCall(forwarder: forwarder, peerID: peerID)
                switch try await call.forward(to: peer, at: peerRecord, hop: .loadLocal, modelID: model, excluded: excluded, deadline: deadline) {
                case .served(let reply):
                    if reply.status == 200 { return peer }
                    let message = (try? JSONParser.parse(Array(reply.body.readableBytesView)))?["error"]?.stringValue ?? "HTTP \(reply.status)"
                    if reply.status == 404 { throw InferenceError.notFound(message) }
                    excluded.insert(peer)
                    problems.append("\(peer): \(message)")
                case .declined(let decline):
                    excluded.insert(peer)
                    if decline.outcome != .notHere { problems.append("\(peer): \(decline.message)") }
                    if let revision = decline.revision { await mirror.waitFor(revision: revision, timeout: .milliseconds(500)) }
                }
            } catch let error as PeerUnreachable {
                excluded.insert(peer)
                if error.refused { health.markUnreachable(peer) }
                problems.append(error.description)
            }
        }
        throw InferenceError.unavailable("no peer took a copy of \(model)" + (problems.isEmpty ? "" : ": \(problems.joined(separator: "; "))"))
    }
}
