import Crypto
import Foundation
import GRPCCore
import MeshManagementGRPC
import MeshTestSupport
import Testing

extension Integration {
    /// Bearer tokens with roles: a mesh started with `--auth-tokens-file`.
    @Suite struct Authorization {
        static let adminToken = "admin-token-\(UUID().uuidString)"
        static let inferToken = "infer-token-\(UUID().uuidString)"

        static func tokensFile(_ lines: [(role: String, principal: String, token: String)]) throws -> TemporaryDirectory {
            let directory = try TemporaryDirectory(prefix: "mesh-tokens")
            try write(lines, to: directory)
            return directory
        }

        static func write(_ lines: [(role: String, principal: String, token: String)], to directory: TemporaryDirectory) throws {
            let text = lines.map { "\($0.role) \($0.principal) \(sha256($0.token))" }.joined(separator: "\n") + "\n"
            // Written beside and renamed, as a Secret volume swaps its files.
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory.appending("tokens.new")))
            #expect(rename(directory.appending("tokens.new"), directory.appending("tokens")) == 0)
        }

        static func sha256(_ token: String) -> String {
            SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
        }

        static func bearer(_ token: String) -> [(String, String)] { [("authorization", "Bearer \(token)")] }

        static func defaultTokens() throws -> TemporaryDirectory {
            try tokensFile([("admin", "alice", adminToken), ("infer", "billing", inferToken)])
        }

        @Test func restNeedsATokenWithTheRightRole() async throws {
            let tokens = try Self.defaultTokens()
            defer { tokens.remove() }
            try await withMesh(peers: 2, arguments: ["--auth-tokens-file", tokens.appending("tokens")]) { mesh in
                let entry = mesh.peers[1]
                let path = try mesh.syntheticModel("guarded")
                let registration = #"{"id": "guarded", "type": "synthetic", "storageUri": "file://\#(path)"}"#

                // Health and metrics stay open.
                #expect(try await TestHTTP.get(entry.url + "/v2/health/ready").status == 200)
                #expect(try await TestHTTP.get(entry.url + "/metrics").status == 200)

                // No token: 401 with a challenge; a bad one: 401; the infer role: 403.
                let anonymous = try await TestHTTP.post(entry.url + "/v1/models", json: registration)
                #expect(anonymous.status == 401)
                #expect(anonymous.header("www-authenticate")?.hasPrefix("Bearer") == true)
                #expect(anonymous.text.contains("bearer token"))
                #expect(try await TestHTTP.post(entry.url + "/v1/models", json: registration, headers: Self.bearer("wrong")).status == 401)
                #expect(try await TestHTTP.post(entry.url + "/v1/models", json: registration, headers: [("authorization", "Basic eDp5")]).status == 401)
                let inferOnly = try await TestHTTP.post(entry.url + "/v1/models", json: registration, headers: Self.bearer(Self.inferToken))
                #expect(inferOnly.status == 403)
                #expect(inferOnly.text.contains("'billing' has the infer role"))
                #expect(try await TestHTTP.get(entry.url + "/v1/models", headers: Self.bearer(Self.inferToken)).status == 403)
                #expect(try await TestHTTP.send(.POST, entry.url + "/v2/repository/models/guarded/load", headers: Self.bearer(Self.inferToken)).status == 403)
                #expect(try await TestHTTP.get(entry.url + "/v1/models/guarded").status == 401)
                #expect(try await TestHTTP.get(entry.url + "//v1/models").status == 401)

                // The admin registers; the data plane wants any token, and hops between the peers need none.
                #expect(try await TestHTTP.post(entry.url + "/v1/models", json: registration, headers: Self.bearer(Self.adminToken)).status == 201)
                #expect(try await mesh.peers[0].infer("guarded").status == 401)
                let first = try await mesh.peers[0].infer("guarded", headers: Self.bearer(Self.inferToken))
                #expect(first.status == 200)
                let other = try #require(mesh.peers.first { $0.id != first.servedBy })
                let forwarded = try await other.infer("guarded", headers: Self.bearer(Self.inferToken))
                #expect(forwarded.status == 200)
                #expect(forwarded.servedBy == first.servedBy)
                #expect(try await other.infer("guarded", headers: Self.bearer(Self.adminToken)).status == 200)

                // The change is logged with its principal.
                #expect(try await eventually(timeout: .seconds(5)) {
                    entry.log.contains("management action") && entry.log.contains("principal=alice") && entry.log.contains("POST /v1/models")
                }, "\(entry.logTail(lines: 20))")

                // meshctl sends --token or MESHCTL_TOKEN.
                let meshctl = try MeshPeerProcess.executable("meshctl")
                #expect(throws: CommandFailure.self) { try runCommand(meshctl, ["models", "list", "--endpoint", entry.url]) }
                #expect(try runCommand(meshctl, ["models", "list", "--endpoint", entry.url, "--token", Self.adminToken]).contains("guarded"))
                #expect(try runCommand(meshctl, ["models", "list", "--endpoint", entry.url], environment: ["MESHCTL_TOKEN": Self.adminToken]).contains("guarded"))
            }
        }

        @Test func grpcNeedsATokenWithTheRightRole() async throws {
            let tokens = try Self.defaultTokens()
            defer { tokens.remove() }
            try await withMesh(peers: 2, arguments: ["--auth-tokens-file", tokens.appending("tokens"), "--metrics-access", "infer"]) { mesh in
                let path = try mesh.syntheticModel("g")
                let info = Mmesh_ModelInfo.with { $0.type = "synthetic"; $0.path = "file://\(path)" }
                let admin: Metadata = ["authorization": "Bearer \(Self.adminToken)"]
                let infer: Metadata = ["authorization": "Bearer \(Self.inferToken)"]
                try await mesh.peers[1].withGRPC { client in
                    let register = Mmesh_RegisterModelRequest.with { $0.modelID = "g"; $0.modelInfo = info }
                    #expect(await code { try await client.management.registerModel(register) } == .unauthenticated)
                    #expect(await code { try await client.management.registerModel(register, metadata: infer) } == .permissionDenied)
                    #expect(await code { try await client.management.registerModel(register, metadata: admin) } == nil)

                    #expect(try await client.infer("g").error?.code == .unauthenticated)
                    #expect(try await client.infer("g", metadata: ["authorization": "Bearer nope"]).error?.code == .unauthenticated)
                    let answer = try await client.infer("g", metadata: infer)
                    #expect(answer.error == nil, "\(String(describing: answer.error))")
                    #expect(try await client.inference.serverLive(.init()).live)
                }
                // Through the other peer, which forwards to the holder without a token.
                let forwarded = try await mesh.peers[0].withGRPC { client in try await client.infer("g", metadata: infer) }
                #expect(forwarded.error == nil, "\(String(describing: forwarded.error))")
                #expect(try await eventually(timeout: .seconds(5)) {
                    mesh.peers[1].log.contains("mmesh.ModelMesh/registerModel") && mesh.peers[1].log.contains("principal=alice")
                })
                // --metrics-access infer: /metrics wants a token too.
                #expect(try await TestHTTP.get(mesh.peers[0].url + "/metrics").status == 401)
                #expect(try await TestHTTP.get(mesh.peers[0].url + "/metrics", headers: Self.bearer(Self.inferToken)).status == 200)
            }
        }

        /// A token file rewritten on disk takes effect without a restart; one that no longer
        /// parses leaves the previous tokens in force.
        @Test func rotatedTokensTakeEffectWithoutARestart() async throws {
            let tokens = try Self.defaultTokens()
            defer { tokens.remove() }
            try await withMesh(peers: 1, arguments: ["--auth-tokens-file", tokens.appending("tokens"), "--auth-reload-interval", "200ms"]) { mesh in
                let peer = mesh.peers[0]
                #expect(try await TestHTTP.get(peer.url + "/v1/models", headers: Self.bearer(Self.adminToken)).status == 200)
                let rotated = "rotated-\(UUID().uuidString)"
                try Self.write([("admin", "alice", rotated)], to: tokens)
                #expect(try await eventually(timeout: .seconds(10)) {
                    try await TestHTTP.get(peer.url + "/v1/models", headers: Self.bearer(rotated)).status == 200
                })
                #expect(try await TestHTTP.get(peer.url + "/v1/models", headers: Self.bearer(Self.adminToken)).status == 401)

                try Data("admin alice not-a-hash\n".utf8).write(to: URL(fileURLWithPath: tokens.appending("tokens")))
                #expect(try await eventually(timeout: .seconds(10)) { peer.log.contains("previous tokens stay in force") })
                #expect(try await TestHTTP.get(peer.url + "/v1/models", headers: Self.bearer(rotated)).status == 200)
            }
        }

        @Test func aPeerDoesNotStartWithABadTokensFile() async throws {
            let tokens = try Self.tokensFile([])
            defer { tokens.remove() }
            try Data("admin alice s3cret\n".utf8).write(to: URL(fileURLWithPath: tokens.appending("tokens")))
            let error = await #expect(throws: (any Error).self) {
                try await withMesh(peers: 1, arguments: ["--auth-tokens-file", tokens.appending("tokens")]) { _ in }
            }
            #expect("\(error.map { "\($0)" } ?? "")".contains("line 1: the third field is the token's SHA-256"))
        }
    }
}
