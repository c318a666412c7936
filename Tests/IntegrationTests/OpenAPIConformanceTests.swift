import Foundation
import MeshTestSupport
import Testing

extension Integration {
    /// docs/openapi.yaml against a real mesh: schemathesis (the version tools/test pins) sends
    /// what the document allows and what it forbids, undeclared methods, and sequences that follow
    /// the document's links (register a model, then use it), and checks every answer with all of
    /// its checks: status codes, content types, headers and bodies as documented, invalid input
    /// refused, valid input accepted, 405 with `Allow`, no server errors.
    @Suite struct OpenAPIConformance {
        static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        /// Fixed, so that a failure reproduces with the same requests.
        static let seed = "21"
        static let examplesPerOperation = "25"

        @Test func schemathesisFindsNoFailure() async throws {
            let pinned = try Self.pinnedVersion()
            let installed = try runCommand("python3", ["-c", "import schemathesis; print(schemathesis.__version__)"])
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(installed == pinned, "tools/test pins schemathesis \(pinned) but \(installed) is installed")
            // Short deadlines: a request for a model that cannot load answers 503 or 504 in
            // seconds, not after the default minute.
            try await withMesh(peers: 2, arguments: ["--request-timeout", "5s", "--load-timeout", "5s", "--failure-expiry", "2s"]) { mesh in
                let peer = mesh.peers[0]
                // The model the settings pin the data-plane routes to (Scripts/schemathesis.toml).
                let registered = try await peer.register("conformance", storage: try mesh.syntheticModel("conformance"))
                #expect(registered.status == 201)
                let started = ContinuousClock.now
                let log = mesh.workDirectory.appending("schemathesis.log")
                let process = try ManagedProcess(
                    name: "schemathesis", executable: "python3",
                    arguments: ["-m", "schemathesis.cli", "--config-file", Self.repo + "/Tests/IntegrationTests/Scripts/schemathesis.toml",
                                "run", Self.repo + "/docs/openapi.yaml", "--url", peer.url, "--checks", "all", "--seed", Self.seed,
                                "--max-examples", Self.examplesPerOperation, "--workers", "1", "--request-timeout", "30", "--no-color"],
                    logPath: log, workingDirectory: mesh.workDirectory.path
                )
                let finished = await process.waitForExit(timeout: .seconds(300))
                if !finished { await process.kill9() }
                let output = (FileManager.default.contents(atPath: log)).map { String(decoding: $0, as: UTF8.self) } ?? ""
                print("schemathesis \(installed) took \(ContinuousClock.now - started):\n\(Self.summary(output))")
                #expect(finished, "schemathesis did not finish within 5 minutes")
                #expect(process.exitStatus == 0, "schemathesis found failures:\n\(output.suffix(20_000))")
                #expect(output.contains("No issues found"), "\(output.suffix(4_000))")
                // The run covered every operation, and reached registered models through the links.
                let cases = Self.number(before: "generated", in: output)
                #expect(cases >= 1_000, "only \(cases) test cases")
                let links = Self.number(before: "covered", in: output)
                #expect(links >= 5, "the stateful phase followed only \(links) links")
                let metrics = try await TestHTTP.get(peer.url + "/metrics").text
                for route in ["register_model", "model_status", "update_model", "unregister_model", "set_vmodel", "metadata", "infer"] {
                    #expect(Self.succeeded(route, in: metrics) > 0, "no \(route) request succeeded: schemathesis did not reach registered models")
                }
            }
        }

        /// The version in tools/test's `schemathesis==X` requirement.
        static func pinnedVersion() throws -> String {
            let script = try String(contentsOfFile: repo + "/tools/test", encoding: .utf8)
            guard let range = script.range(of: #"schemathesis==[0-9.]+"#, options: .regularExpression) else {
                throw TestSupportError("tools/test does not pin schemathesis")
            }
            return String(script[range].dropFirst("schemathesis==".count))
        }

        /// Requests of `route` this peer answered with 200 or 201, from its /metrics.
        static func succeeded(_ route: String, in metrics: String) -> Double {
            metrics.split(separator: "\n")
                .filter { $0.hasPrefix("modelmesh_api_request_total{") && $0.contains("method=\"\(route)\"") }
                .filter { $0.contains("code=\"200\"") || $0.contains("code=\"201\"") }
                .compactMap { Double($0.split(separator: " ").last ?? "") }
                .reduce(0, +)
        }

        /// The number in the first "<number> <word>" of the output ("1633 generated", "10 covered"), or 0.
        static func number(before word: String, in output: String) -> Int {
            guard let range = output.range(of: #"[0-9]+ "# + word, options: .regularExpression) else { return 0 }
            return Int(output[range].prefix { $0.isNumber }) ?? 0
        }

        /// schemathesis' closing summary, for the test log.
        static func summary(_ output: String) -> String {
            guard let start = output.range(of: "SUMMARY", options: .backwards) else { return String(output.suffix(2_000)) }
            return String(output[start.lowerBound...])
        }
    }
}
