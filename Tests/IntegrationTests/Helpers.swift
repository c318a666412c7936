import Foundation
import MeshTestSupport
import OpenInference
import Testing

/// Every multi-process test runs one at a time: each starts etcd and several peers, and the
/// machine has two cores.
@Suite(.serialized, .timeLimit(.minutes(10))) enum Integration {}

/// Runs `body` with a fresh mesh; the mesh is torn down whatever happens.
func withMesh<T>(
    peers: Int, etcdMembers: Int = 1, arguments: [String] = [], perPeer: [Int: [String]] = [:], networkLab: Bool = false,
    _ body: (LocalMesh) async throws -> T
) async throws -> T {
    let mesh = try await LocalMesh.start(peers: peers, etcdMembers: etcdMembers, arguments: arguments, perPeer: perPeer, networkLab: networkLab)
    do {
        let result = try await body(mesh)
        await mesh.destroy()
        return result
    } catch {
        print(mesh.logs())
        await mesh.destroy()
        throw error
    }
}

/// The helper scripts the integration tests run (Python clients).
let integrationScripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts")

/// Three peers where mesh-2 runs with `disabledFastPath` (for example `--rest-fast-path=false`)
/// and the others with it on, and a synthetic model `good` with one copy, so that some calls are
/// served where they arrive and others hop: a fast path's answers compared with the slow one's.
func withFastPathAndSlowPathPeers(disabling disabledFastPath: String, _ body: (LocalMesh) async throws -> Void) async throws {
    try await withMesh(peers: 3, perPeer: [2: [disabledFastPath]]) { mesh in
        let path = try mesh.syntheticModel("good")
        #expect(try await mesh.peers[0].register("good", storage: path, extra: #", "minCopies": 1"#).status == 201)
        try await body(mesh)
    }
}

/// What an inference through the mesh returned.
struct InferResult {
    var status: Int
    var output: [Float]
    var servedBy: String?
    var invocations: Int64?
    var error: String?
    var reply: TestHTTP.Reply
}

extension MeshPeerProcess {
    func register(_ id: String, storage path: String, extra: String = "") async throws -> TestHTTP.Reply {
        let json = #"{"id": "\#(id)", "type": "synthetic", "storageUri": "file://\#(path)"\#(extra)}"#
        return try await TestHTTP.post(url + "/v1/models", json: json)
    }

    func infer(_ model: String, _ values: [Float] = [1, 2, 3], headers: [(String, String)] = []) async throws -> InferResult {
        let request = InferenceRequest(inputs: [Tensor(name: "INPUT0", shape: [values.count], floats: values)])
        let body = RESTEncoding.request(request).bytes
        let reply = try await TestHTTP.send(.POST, url + "/v2/models/\(model)/infer", body: body,
                                            headers: [("content-type", "application/json")] + headers, timeout: .seconds(60))
        guard reply.status == 200 else {
            let error = (try? JSONParser.parse(reply.body))?["error"]?.stringValue
            return InferResult(status: reply.status, output: [], servedBy: reply.header("mm-served-by"), invocations: nil, error: error, reply: reply)
        }
        let response = try RESTDecoding.response(reply.body)
        return InferResult(
            status: 200, output: response.outputs.first?.floatValues() ?? [], servedBy: reply.header("mm-served-by"),
            invocations: response.parameters["invocations"]?.int64Value, error: nil, reply: reply
        )
    }

    func json(_ path: String) async throws -> JSONValue {
        let reply = try await TestHTTP.get(url + path)
        return try JSONParser.parse(reply.body)
    }

    /// `(peer, state)` of each copy of `model`, from this peer's view.
    func placement(of model: String) async throws -> [(peer: String, state: String)] {
        let value = try await json("/v1/placement")
        return (value["copies"]?.arrayValue ?? [])
            .filter { $0["model"]?.stringValue == model }
            .map { ($0["peer"]?.stringValue ?? "", $0["state"]?.stringValue ?? "") }
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

/// The synthetic model's answer for inputs `values`, scale `scale` and the model's default offset.
func expectedOutput(_ model: String, _ values: [Float], scale: Double = 1, offset: Double? = nil) -> [Float] {
    let offset = offset ?? SyntheticOffset.of(model)
    return values.map { Float(Double($0) * scale + offset) }
}

import MeshCore
import ModelRuntimes

enum SyntheticOffset {
    static func of(_ model: String) -> Double { SyntheticRuntime.defaultOffset(for: try! ModelID(model)) }
}

import Synchronization

/// A steady stream of inference requests in the background, counting what succeeded and what
/// failed. Clients skip the peers named in ``avoided`` (as a Service skips terminating pods).
final class BackgroundLoad: Sendable {
    let ok = Atomic<Int>(0)
    let failures = Mutex<[String]>([])
    let avoided = Mutex<Set<String>>([])
    private let stopping = Atomic<Bool>(false)
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Starts `workers` loops over `models` through `peers`, pausing `pause` between requests.
    static func start(_ peers: [MeshPeerProcess], models: [String], workers: Int = 4, pause: Duration = .milliseconds(10)) -> BackgroundLoad {
        let load = BackgroundLoad()
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        var index = worker
                        while !load.stopping.load(ordering: .relaxed) {
                            let avoided = load.avoided.withLock { $0 }
                            let candidates = peers.filter { !avoided.contains($0.id) }
                            guard !candidates.isEmpty else { try? await Task.sleep(for: pause); continue }
                            let peer = candidates[index % candidates.count]
                            do {
                                let result = try await peer.infer(models[index % models.count], [Float(index % 100)])
                                if result.status == 200 {
                                    load.ok.add(1, ordering: .relaxed)
                                } else {
                                    load.failures.withLock { $0.append("\(peer.id): HTTP \(result.status): \(result.error ?? "")") }
                                }
                            } catch {
                                load.failures.withLock { $0.append("\(peer.id): \(error)") }
                            }
                            index += 1
                            try? await Task.sleep(for: pause)
                        }
                    }
                }
            }
        }
        load.task.withLock { $0 = task }
        return load
    }

    func avoid(_ peer: String?) {
        avoided.withLock { $0 = peer.map { [$0] } ?? [] }
    }

    /// Stops the load and waits for the requests in flight.
    func stop() async {
        stopping.store(true, ordering: .relaxed)
        await task.withLock { $0 }?.value
    }

    var succeeded: Int { ok.load(ordering: .relaxed) }
    var failed: [String] { failures.withLock { $0 } }
}
