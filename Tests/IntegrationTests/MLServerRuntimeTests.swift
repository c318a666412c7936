import Foundation
import MeshTestSupport
import OpenInference
import Testing

extension Integration {
    /// A real MLServer beside one peer, serving a scikit-learn, an XGBoost and a LightGBM model
    /// the fixtures train; the other peer runs the built-in runtimes only.
    @Suite struct MLServerRuntime {
        static let scripts = integrationScripts.path
        static let formats = ["sklearn", "xgboost", "lightgbm"]
        /// Each model's planned memory: its file's bytes times this (the pool fits two of them).
        static let multiplier = 100.0

        /// MLServer and its runtimes from PyPI (tools/test installs them; a run without them installs them here).
        static func ensureMLServer() throws {
            if (try? runCommand("python3", ["-c", "import mlserver, mlserver_sklearn, mlserver_xgboost, mlserver_lightgbm, tritonclient.grpc"])) != nil,
               (try? runCommand("mlserver", ["--version"])) != nil { return }
            _ = try runCommand("python3", ["-m", "pip", "install", "-q", "mlserver==1.7.1", "mlserver-sklearn==1.7.1", "mlserver-xgboost==1.7.1",
                                           "mlserver-lightgbm==1.7.1", "tritonclient[http,grpc]"])
        }

        struct Fixture {
            var format: String
            var path: String
            var inputs: JSONValue
            var outputs: JSONValue
            var sizeBytes: Int64
        }

        /// Trains the three models into `directory`; what each must answer for its inputs.
        static func fixtures(in directory: String) throws -> [String: Fixture] {
            let printed = try runCommand("python3", ["\(scripts)/runtime_fixtures.py", directory])
            let json = try JSONParser.parse(Array(printed.utf8))
            var fixtures: [String: Fixture] = [:]
            for format in formats {
                let entry = try #require(json[format])
                let path = try #require(entry["uri"]?.stringValue)
                let disk = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
                fixtures[format] = Fixture(format: format, path: path, inputs: try #require(entry["inputs"]), outputs: try #require(entry["outputs"]),
                                           sizeBytes: Int64((Double(disk) * multiplier).rounded(.up)))
            }
            return fixtures
        }

        @Test func modelsOfThreeFormatsLoadOnDemandThroughAPeerThatRunsNone() async throws {
            try Self.ensureMLServer()
            let work = try TemporaryDirectory(prefix: "mesh-test-mlserver")
            defer { work.remove() }
            let fixtures = try Self.fixtures(in: work.appending("fixtures"))
            let sklearn = try #require(fixtures["sklearn"]).sizeBytes, xgboost = try #require(fixtures["xgboost"]).sizeBytes
            let lightgbm = try #require(fixtures["lightgbm"]).sizeBytes
            // Room for scikit-learn and XGBoost, then for LightGBM and XGBoost, never for all three:
            // LightGBM's load evicts the least recently used, scikit-learn.
            let memory = max(sklearn + xgboost, lightgbm + xgboost)
            let mlserver = try await MLServerProcess.start(repository: work.appending("repository"), in: work)
            let config = work.appending("runtime-servers.yaml")
            try """
                - name: mlserver
                  protocol: open-inference
                  server: mlserver
                  rest: \(mlserver.restURL)
                  repository: \(mlserver.repository)
                  formats: [sklearn, xgboost, lightgbm]
                  memory: \(memory)
                  sizeMultiplier: \(Self.multiplier)
                  probeIntervalMillis: 200
                """.write(toFile: config, atomically: true, encoding: .utf8)
            let mesh = try await LocalMesh.start(peers: 2, arguments: ["--eviction-policy", "lru"], perPeer: [0: ["--runtime-servers", config]])
            do {
                // Under the peers' models root, where they may read (MLServer reads them there too).
                var fixtures = fixtures
                for (format, fixture) in fixtures {
                    let path = mesh.workDirectory.appending("\(format)-\(URL(fileURLWithPath: fixture.path).lastPathComponent)")
                    try FileManager.default.copyItem(atPath: fixture.path, toPath: path)
                    fixtures[format]?.path = path
                }
                try await exercise(mesh: mesh, mlserver: mlserver, fixtures: fixtures)
            } catch {
                Issue.record(error)
                print(mesh.logs(lines: 80))
                print(mlserver.logTail(lines: 60))
            }
            await mesh.destroy()
            await mlserver.stop()
        }

        func exercise(mesh: LocalMesh, mlserver: MLServerProcess, fixtures: [String: Fixture]) async throws {
            let entry = mesh.peers[1]
            #expect(try await eventually { try await Self.poolReady(on: entry, peer: "mesh-0") == true }, "\(mesh.logs())")
            let peers = try runCommand(try MeshPeerProcess.executable("meshctl"), ["peers", "--endpoint", entry.url])
            #expect(peers.contains("mlserver: lightgbm,sklearn,xgboost"), "\(peers)")
            #expect(peers.contains("builtin: onnx,synthetic"), "\(peers)")

            // A format no peer runs is refused with the ones that are.
            let refused = try await TestHTTP.post(entry.url + "/v1/models", json: #"{"id": "tf", "type": "tensorflow", "storageUri": "file:///x"}"#)
            #expect(refused.status == 400)
            #expect(refused.text.contains("this mesh runs lightgbm, onnx, sklearn, synthetic, xgboost"), "\(refused.text)")

            for (format, fixture) in fixtures.sorted(by: { $0.key < $1.key }) {
                let registered = try await TestHTTP.post(entry.url + "/v1/models", json: """
                    {"id": "\(format)-model", "type": "\(format)", "storageUri": "file://\(fixture.path)", "sizeHintBytes": \(fixture.sizeBytes)}
                    """)
                #expect(registered.status == 201, "\(registered.text)")
            }

            // REST through the peer without MLServer: forwarded, loaded on demand, answered as MLServer answers.
            var loaded: [String] = []
            for format in ["sklearn", "xgboost"] {
                let fixture = try #require(fixtures[format])
                let reply = try await Self.inferREST(entry, "\(format)-model", fixture)
                #expect(reply.status == 200, "\(format): \(reply.text)")
                #expect(reply.header("mm-served-by") == "mesh-0")
                try Self.expectOutputs(reply.body, fixture, model: "\(format)-model")
                #expect(try await TestHTTP.get("\(mlserver.restURL)/v2/models/\(format)-model/ready").status == 200)
                loaded.append("\(format)-model")
            }
            try await expectRelayedAsMLServerAnswers(entry: entry, holder: mesh.peers[0], mlserver: mlserver, fixture: try #require(fixtures["xgboost"]),
                                                     model: "xgboost-model")

            // gRPC through the same peer, with NVIDIA's client.
            let lightgbm = try #require(fixtures["lightgbm"])
            let grpc = try runCommand("python3", ["\(Self.scripts)/grpc_infer.py", "127.0.0.1:\(entry.grpcPort)", "lightgbm-model",
                                                  Self.text(lightgbm.inputs)])
            let answer = try JSONParser.parse(Array(grpc.utf8))
            #expect(answer["model_name"]?.stringValue == "lightgbm-model", "\(grpc)")
            try Self.expectOutputs(answer, lightgbm)

            // The pool holds two: the least recently used model was evicted, and MLServer unloaded it.
            #expect(try await eventually {
                try await TestHTTP.get("\(mlserver.restURL)/v2/models/sklearn-model/ready").status == 404
            }, "\(mlserver.logTail())")
            #expect(!FileManager.default.fileExists(atPath: "\(mlserver.repository)/sklearn-model"))
            #expect(try await entry.placement(of: "sklearn-model").isEmpty)
            #expect(try await entry.placement(of: "lightgbm-model").map(\.peer) == ["mesh-0"])

            // MLServer killed: the peer takes its copies out and closes the pool.
            await mlserver.kill9()
            #expect(try await eventually { try await Self.poolReady(on: entry, peer: "mesh-0") == false })
            #expect(try await eventually { try await entry.placement(of: "lightgbm-model").isEmpty })
            #expect(try await mesh.peers[0].metric("modelmesh_runtime_pool_ready", labels: #"pool="mlserver""#) == 0)
            let whileDown = try await Self.inferREST(entry, "sklearn-model", try #require(fixtures["sklearn"]))
            #expect(whileDown.status == 503, "\(whileDown.text)")
            #expect(whileDown.text.contains("not ready"), "\(whileDown.text)")

            // Back (as a restarted container is): purged, ready, and the model loads again.
            try await mlserver.launch()
            #expect(try await eventually { try await Self.poolReady(on: entry, peer: "mesh-0") == true })
            let again = try await Self.inferREST(entry, "sklearn-model", try #require(fixtures["sklearn"]))
            #expect(again.status == 200, "\(again.text)")
            try Self.expectOutputs(again.body, try #require(fixtures["sklearn"]), model: "sklearn-model")
            #expect(try await TestHTTP.get("\(mlserver.restURL)/v2/models/sklearn-model/ready").status == 200)

            // Unloaded behind the peer's back: the request finds it gone, the copy goes, and it loads again.
            #expect(try await TestHTTP.post("\(mlserver.restURL)/v2/repository/models/sklearn-model/unload", json: "{}").status == 200)
            let reloaded = try await Self.inferREST(entry, "sklearn-model", try #require(fixtures["sklearn"]))
            #expect(reloaded.status == 200, "\(reloaded.text)")
            #expect(try await TestHTTP.get("\(mlserver.restURL)/v2/models/sklearn-model/ready").status == 200)
            // The same, asked of the holder itself, which relays the request from its channel.
            #expect(try await TestHTTP.post("\(mlserver.restURL)/v2/repository/models/sklearn-model/unload", json: "{}").status == 200)
            let relays = try await mesh.peers[0].metric("modelmesh_rest_channel_runtime_relays_total")
            let reloadedHere = try await Self.inferREST(mesh.peers[0], "sklearn-model", try #require(fixtures["sklearn"]))
            #expect(reloadedHere.status == 200, "\(reloadedHere.text)")
            try Self.expectOutputs(reloadedHere.body, try #require(fixtures["sklearn"]), model: "sklearn-model")
            #expect(try await mesh.peers[0].metric("modelmesh_rest_channel_runtime_relays_total") - relays == 1)
            #expect(try await TestHTTP.get("\(mlserver.restURL)/v2/models/sklearn-model/ready").status == 200)
            #expect(try await mesh.peers[0].metric("modelmesh_loadmodel_total") >= 6)
            #expect(try await mesh.peers[0].metric("modelmesh_runtime_pool_ready", labels: #"pool="mlserver""#) == 1)
            #expect(try await mesh.peers[0].metric("modelmesh_runtime_pool_used_bytes", labels: #"pool="mlserver""#) == Double(try #require(fixtures["sklearn"]).sizeBytes))
        }

        /// The holder checks a JSON request, then passes it to MLServer and MLServer's answer back
        /// as they are; only outputs asked for in binary make it write the answer itself. Asked
        /// of the holder itself, the request is relayed from its channel, with no task
        /// (`modelmesh_rest_channel_runtime_relays_total`), and answered the same.
        func expectRelayedAsMLServerAnswers(entry: MeshPeerProcess, holder: MeshPeerProcess, mlserver: MLServerProcess, fixture: Fixture,
                                            model: String) async throws {
            let headers = [("content-type", "application/json")]
            let request = Array(#"{"id": "relayed", "inputs": \#(Self.text(fixture.inputs))}"#.utf8)
            let relays = { try await holder.metric("modelmesh_rest_channel_runtime_relays_total") }
            let before = try await relays()
            let relayed = try await TestHTTP.send(.POST, entry.url + "/v2/models/\(model)/infer", body: request, headers: headers, timeout: .seconds(60))
            let direct = try await TestHTTP.send(.POST, mlserver.restURL + "/v2/models/\(model)/infer", body: request, headers: headers, timeout: .seconds(60))
            #expect(relayed.status == 200 && direct.status == 200, "\(relayed.text) / \(direct.text)")
            #expect(relayed.text == direct.text)
            #expect(relayed.header("mm-served-by") == "mesh-0")
            #expect(try await relays() == before, "a hop from the entry took the channel's way")
            let relayedHere = try await TestHTTP.send(.POST, holder.url + "/v2/models/\(model)/infer", body: request, headers: headers, timeout: .seconds(60))
            #expect(relayedHere.status == 200 && relayedHere.text == direct.text, "\(relayedHere.text)")
            #expect(relayedHere.header("mm-served-by") == "mesh-0")
            #expect(try await relays() - before == 1)

            let output = try #require(fixture.outputs.arrayValue?.first?["name"]?.stringValue)
            let binary = Array(#"{"inputs": \#(Self.text(fixture.inputs)), "outputs": [{"name": "\#(output)", "parameters": {"binary_data": true}}]}"#.utf8)
            let written = try await TestHTTP.send(.POST, entry.url + "/v2/models/\(model)/infer", body: binary, headers: headers, timeout: .seconds(60))
            #expect(written.status == 200, "\(written.text)")
            let jsonLength = try #require(written.header("inference-header-content-length").flatMap(Int.init), "\(written.text)")
            let head = try JSONParser.parse(Array(written.body.prefix(jsonLength)))
            #expect(head["outputs"]?.arrayValue?.first?["parameters"]?["binary_data_size"]?.int64Value == Int64(written.body.count - jsonLength))

            // MLServer itself would answer this one with a bare 500.
            let short = #"{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3]}]}"#
            for peer in [entry, holder] {
                let refused = try await TestHTTP.send(.POST, peer.url + "/v2/models/\(model)/infer", body: Array(short.utf8), headers: headers, timeout: .seconds(60))
                #expect(refused.status == 400)
                #expect(refused.text.contains("has shape [1, 4] (4 elements) but its data has 3"), "\(refused.text)")
            }
            let writtenHere = try await TestHTTP.send(.POST, holder.url + "/v2/models/\(model)/infer", body: binary, headers: headers, timeout: .seconds(60))
            #expect(writtenHere.status == 200 && writtenHere.header("inference-header-content-length") != nil, "\(writtenHere.text)")
            // Neither the refused request nor the one with binary outputs was relayed as it came.
            #expect(try await relays() - before == 1)
        }

        /// Whether `peer`'s MLServer pool is ready, as `entry` sees it.
        static func poolReady(on entry: MeshPeerProcess, peer: String) async throws -> Bool? {
            let peers = try await entry.json("/v1/peers")["peers"]?.arrayValue ?? []
            let pools = peers.first { $0["id"]?.stringValue == peer }?["pools"]?.arrayValue ?? []
            return pools.first { $0["name"]?.stringValue == "mlserver" }?["ready"]?.boolValue
        }

        static func inferREST(_ peer: MeshPeerProcess, _ model: String, _ fixture: Fixture) async throws -> TestHTTP.Reply {
            try await TestHTTP.send(.POST, peer.url + "/v2/models/\(model)/infer", body: Array(#"{"inputs": \#(text(fixture.inputs))}"#.utf8),
                                    headers: [("content-type", "application/json")], timeout: .seconds(60))
        }

        static func text(_ value: JSONValue) -> String {
            var writer = JSONWriter()
            writer.write(value)
            return String(decoding: writer.bytes, as: UTF8.self)
        }

        static func expectOutputs(_ body: [UInt8], _ fixture: Fixture, model: String) throws {
            let json = try JSONParser.parse(body)
            #expect(json["model_name"]?.stringValue == model)
            try expectOutputs(json, fixture)
        }

        /// Names, datatypes, shapes and values as the fixture computed them (floats to 1e-6).
        static func expectOutputs(_ json: JSONValue, _ fixture: Fixture) throws {
            let outputs = json["outputs"]?.arrayValue ?? []
            let expected = fixture.outputs.arrayValue ?? []
            #expect(outputs.count == expected.count, "\(text(json))")
            for (output, wanted) in zip(outputs, expected) {
                #expect(output["name"] == wanted["name"])
                #expect(output["datatype"] == wanted["datatype"])
                #expect(output["shape"] == wanted["shape"])
                let values = (output["data"]?.arrayValue ?? []).compactMap(\.doubleValue)
                let wantedValues = (wanted["data"]?.arrayValue ?? []).compactMap(\.doubleValue)
                #expect(values.count == wantedValues.count)
                for (value, wantedValue) in zip(values, wantedValues) {
                    #expect(abs(value - wantedValue) <= 1e-6, "\(fixture.format): \(values) vs \(wantedValues)")
                }
            }
        }
    }
}
