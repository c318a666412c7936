import AsyncHTTPClient
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import MeshManagementGRPC
import MeshTestSupport
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

extension Integration {
    /// TLS: peers serve REST and gRPC over TLS with certificates a test CA issued (laid out as
    /// cert-manager writes them), hop to each other over mutual TLS, and re-read renewed files.
    @Suite struct TransportSecurity {
        static func tlsArguments(_ secret: String) -> [String] {
            ["--tls-cert-file", secret + "/tls.crt", "--tls-key-file", secret + "/tls.key", "--tls-ca-file", secret + "/ca.crt"]
        }

        /// Three peers with mutual TLS between them, TLS and client certificates for clients, and
        /// bearer tokens: registration, inference through a peer that does not hold the model
        /// over REST and gRPC, meshctl, and a holder killed and its model served again.
        @Test func aSecuredMeshServesTheMainPaths() async throws {
            let ca = try TestCertificateAuthority.make()
            defer { ca.remove() }
            var perPeer: [Int: [String]] = [:]
            for index in 0..<3 { perPeer[index] = Self.tlsArguments(try ca.issue("mesh-\(index)")) }
            let clientSecret = try ca.issue("client", ips: [], dnsNames: ["client"])
            let tokens = try Authorization.defaultTokens()
            defer { tokens.remove() }
            // etcd over TLS too, with a user of its own.
            let (etcd, etcdArguments, etcdClient, password) = try await SecureEtcd.startGuarded(ca: ca)
            defer { password.remove() }
            let mesh = try await LocalMesh.start(
                peers: 3, arguments: ["--tls-require-client-cert", "true", "--auth-tokens-file", tokens.appending("tokens")] + etcdArguments,
                perPeer: perPeer, waitUntilReady: false, etcd: etcd
            )
            let client = try SecureClient(ca: ca.certificatePath, certificate: clientSecret)
            do {
                for peer in mesh.peers {
                    #expect(try await eventually(timeout: .seconds(30)) { (try? await client.get(peer.url + "/v2/health/ready"))?.status == 200 },
                            "\(peer.logTail())")
                }
                let entry = mesh.peers[1]
                #expect(entry.url.hasPrefix("https://"))

                // Plaintext, an untrusting client and a client without a certificate are refused.
                let plain = entry.url.replacingOccurrences(of: "https://", with: "http://")
                await #expect(throws: (any Error).self) { try await TestHTTP.get(plain + "/v2/health/ready", timeout: .seconds(5)) }
                let noCertificate = try SecureClient(ca: ca.certificatePath, certificate: nil)
                await #expect(throws: (any Error).self) { try await noCertificate.get(entry.url + "/v2/health/ready") }
                try await noCertificate.shutdown()
                let untrusting = try SecureClient(ca: nil, certificate: clientSecret)
                await #expect(throws: (any Error).self) { try await untrusting.get(entry.url + "/v2/health/ready") }
                try await untrusting.shutdown()

                let path = try mesh.syntheticModel("secure")
                let registration = #"{"id": "secure", "type": "synthetic", "storageUri": "file://\#(path)"}"#
                #expect(try await client.post(entry.url + "/v1/models", json: registration, token: Authorization.adminToken).status == 201)
                let first = try await client.infer(mesh.peers[0].url, "secure", token: Authorization.inferToken)
                #expect(first.status == 200, "\(first.text)")
                let holder = try #require(mesh.peers.first { $0.id == first.header("mm-served-by") })
                let other = try #require(mesh.peers.first { $0.id != holder.id })
                let forwarded = try await client.infer(other.url, "secure", token: Authorization.inferToken)
                #expect(forwarded.status == 200, "\(forwarded.text)")
                #expect(forwarded.header("mm-served-by") == holder.id)
                // The registration went to etcd as the mesh's user, over TLS.
                #expect(try SecureEtcd.etcdctl(etcd, etcdClient, ["get", "--prefix", "--keys-only", "/mm/"], user: "mesh:mesh-password").contains("secure"))

                // gRPC over TLS with the client certificate, entering where the model is not held.
                let grpc = try await withGRPCClient(transport: try Self.grpcTransport(port: other.grpcPort, ca: ca.certificatePath, client: clientSecret)) { grpc in
                    try await grpc.infer("secure", metadata: ["authorization": "Bearer \(Authorization.inferToken)"])
                }
                #expect(grpc.error == nil, "\(String(describing: grpc.error))")
                #expect(grpc.servedBy == holder.id)

                // The client's certificate, signed by the CA but naming no peer, cannot make hops,
                // although it connects from a peer's address.
                let hop = try await client.send(.POST, other.url + "/v2/repository/models/secure/load", token: Authorization.adminToken,
                                                headers: [("mm-hop", "load-local")])
                #expect(hop.status == 403, "\(hop.text)")
                #expect(hop.text.contains("client certificate names client"))
                let gossip = try await client.send(.POST, other.url + "/_mesh/gossip", body: Array("{}".utf8))
                #expect(gossip.status == 403)
                // Over gRPC the same: a hop with the client's certificate is refused (and declined
                // to its sender); with a peer's certificate, from the same address, it is served.
                let hopMetadata: Metadata = ["mm-hop": "hit-only"]
                let refused = try await withGRPCClient(transport: try Self.grpcTransport(port: holder.grpcPort, ca: ca.certificatePath, client: clientSecret)) { grpc in
                    try await grpc.infer("secure", metadata: hopMetadata)
                }
                #expect(refused.error?.code == .permissionDenied, "\(String(describing: refused.error))")
                #expect(refused.error?.message.contains("client certificate names client") == true, "\(String(describing: refused.error))")
                #expect(refused.error?.metadata[stringValues: "mm-route"].first(where: { _ in true }) == "unavailable")
                let peerSecret = try ca.issue("another-peer")
                let admitted = try await withGRPCClient(transport: try Self.grpcTransport(port: holder.grpcPort, ca: ca.certificatePath, client: peerSecret)) { grpc in
                    try await grpc.infer("secure", metadata: hopMetadata)
                }
                #expect(admitted.error == nil, "\(String(describing: admitted.error))")
                #expect(admitted.servedBy == holder.id)

                // meshctl with the CA, the client certificate and a token.
                let meshctl = try MeshPeerProcess.executable("meshctl")
                let listing = try runCommand(meshctl, ["models", "list", "--endpoint", entry.url, "--ca-file", ca.certificatePath,
                                                       "--cert-file", clientSecret + "/tls.crt", "--key-file", clientSecret + "/tls.key",
                                                       "--token", Authorization.adminToken])
                #expect(listing.contains("secure"))
                #expect(throws: CommandFailure.self) {
                    try runCommand(meshctl, ["models", "list", "--endpoint", entry.url, "--token", Authorization.adminToken])
                }

                // The holder is killed: the model is served through the others again.
                await holder.kill9()
                #expect(try await eventually(timeout: .seconds(30)) {
                    (try? await client.infer(other.url, "secure", token: Authorization.inferToken))?.status == 200
                })
                try await holder.restart(waitUntilReady: false)
                #expect(try await eventually(timeout: .seconds(30)) { (try? await client.get(holder.url + "/v2/health/ready"))?.status == 200 })
            } catch {
                Issue.record(error)
            }
            try await client.shutdown()
            await mesh.destroy()
        }

        /// A renewed certificate on disk is served without a restart.
        @Test func aRenewedCertificateIsPickedUpWithoutARestart() async throws {
            let ca = try TestCertificateAuthority.make()
            defer { ca.remove() }
            let secret = try ca.issue("mesh-0")
            try await withMesh(peers: 1, arguments: Self.tlsArguments(secret) + ["--tls-reload-interval", "500ms"]) { mesh in
                let port = mesh.peers[0].httpPort
                let before = try ca.serial(of: "mesh-0")
                #expect(try ca.servedSerial(port: port) == before)
                try ca.issue("mesh-0")
                let after = try ca.serial(of: "mesh-0")
                #expect(after != before)
                #expect(try await eventually(timeout: .seconds(10)) { (try? ca.servedSerial(port: port)) == after })
                #expect(try ca.servedSerial(port: mesh.peers[0].grpcPort) == after)
                #expect(try await TestHTTP.get(mesh.peers[0].url + "/v2/health/ready").status == 200)
            }
        }

        /// A peer whose certificate another CA signed cannot send hops to peers that ask for
        /// certificates: its request is served where it entered, not by the holder.
        @Test func aPeerWithAForeignCertificateCannotSendHops() async throws {
            let ca = try TestCertificateAuthority.make()
            let foreign = try TestCertificateAuthority.make()
            defer { ca.remove(); foreign.remove() }
            let trusted = try ca.issue("mesh-0")
            let intruder = try foreign.issue("mesh-1")
            // The intruder trusts the real CA (it can verify the holder) but presents its own certificate.
            let mesh = try await LocalMesh.start(
                peers: 2, arguments: ["--tls-require-client-cert", "true"],
                perPeer: [0: Self.tlsArguments(trusted),
                          1: ["--tls-cert-file", intruder + "/tls.crt", "--tls-key-file", intruder + "/tls.key", "--tls-ca-file", ca.certificatePath]],
                waitUntilReady: false
            )
            let clientSecret = try ca.issue("client", ips: [], dnsNames: ["client"])
            let client = try SecureClient(ca: ca.certificatePath, certificate: clientSecret)
            // Clients of the intruder trust the certificate it serves; it asks them for the real CA's.
            let intruderClient = try SecureClient(ca: foreign.certificatePath, certificate: clientSecret)
            do {
                #expect(try await eventually(timeout: .seconds(30)) { (try? await client.get(mesh.peers[0].url + "/v2/health/ready"))?.status == 200 })
                #expect(try await eventually(timeout: .seconds(30)) { (try? await intruderClient.get(mesh.peers[1].url + "/v2/health/ready"))?.status == 200 })
                let path = try mesh.syntheticModel("held")
                #expect(try await client.post(mesh.peers[0].url + "/v1/models", json: #"{"id": "held", "type": "synthetic", "storageUri": "file://\#(path)"}"#).status == 201)
                let first = try await client.infer(mesh.peers[0].url, "held")
                #expect(first.header("mm-served-by") == "mesh-0")
                let throughIntruder = try await intruderClient.infer(mesh.peers[1].url, "held")
                #expect(throughIntruder.status == 200, "\(throughIntruder.text)")
                #expect(throughIntruder.header("mm-served-by") == "mesh-1")
            } catch {
                Issue.record(error)
            }
            try await client.shutdown()
            try await intruderClient.shutdown()
            await mesh.destroy()
        }

        /// REST hops check that the holder's certificate names the address it advertises, not
        /// only that the CA signed it: a holder whose certificate names another host gets none.
        @Test func aHopIsNotSentToAPeerWhoseCertificateNamesAnotherAddress() async throws {
            let ca = try TestCertificateAuthority.make()
            defer { ca.remove() }
            let entrySecret = try ca.issue("mesh-0")
            let misnamed = try ca.issue("mesh-1", ips: ["127.0.0.2"], dnsNames: ["elsewhere"])
            let mesh = try await LocalMesh.start(
                peers: 2, perPeer: [0: Self.tlsArguments(entrySecret), 1: Self.tlsArguments(misnamed) + ["--labels", "holder"]],
                waitUntilReady: false
            )
            let client = try SecureClient(ca: ca.certificatePath, certificate: nil)
            do {
                let entry = mesh.peers[0].url
                #expect(try await eventually(timeout: .seconds(30)) {
                    guard let peers = try? await client.get(entry + "/v1/peers"), peers.status == 200 else { return false }
                    return peers.text.contains("mesh-1")
                })
                let path = try mesh.syntheticModel("labelled")
                let registration = #"{"id": "labelled", "type": "synthetic", "storageUri": "file://\#(path)", "labels": ["holder"]}"#
                #expect(try await client.post(entry + "/v1/models", json: registration).status == 201)
                // Only mesh-1 may load it, and the entry will not talk to it.
                let reply = try await client.infer(entry, "labelled")
                #expect(reply.status != 200, "\(reply.text)")
                #expect(reply.header("mm-served-by") == nil)
                #expect(reply.text.contains("mesh-1"), "\(reply.text)")
            } catch {
                Issue.record(error)
            }
            try await client.shutdown()
            await mesh.destroy()
        }

        static func grpcTransport(port: Int, ca: String, client secret: String) throws -> HTTP2ClientTransport.Posix {
            try HTTP2ClientTransport.Posix(
                target: .ipv4(address: "127.0.0.1", port: port),
                transportSecurity: .mTLS(
                    certificateChain: [.file(path: secret + "/tls.crt", format: .pem)], privateKey: .file(path: secret + "/tls.key", format: .pem)
                ) { tls in
                    tls.trustRoots = .certificates([.file(path: ca, format: .pem)])
                }
            )
        }
    }
}

/// An HTTPS client that trusts `ca` (nil: the system's roots) and presents the certificate in
/// the Secret directory `certificate` (nil: none).
struct SecureClient {
    let http: HTTPClient

    init(ca: String?, certificate secret: String?) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca { tls.trustRoots = .file(ca) }
        if let secret {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(secret + "/tls.crt").map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: secret + "/tls.key", format: .pem))
        }
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = tls
        // A refused handshake fails the request at once instead of being retried until its deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func send(_ method: HTTPMethod, _ url: String, body: [UInt8]? = nil, token: String? = nil,
              headers: [(String, String)] = []) async throws -> TestHTTP.Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "content-type", value: "application/json")
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return TestHTTP.Reply(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView))
    }

    func get(_ url: String, token: String? = nil) async throws -> TestHTTP.Reply {
        try await send(.GET, url, token: token)
    }

    func post(_ url: String, json: String, token: String? = nil) async throws -> TestHTTP.Reply {
        try await send(.POST, url, body: Array(json.utf8), token: token)
    }

    func infer(_ base: String, _ model: String, token: String? = nil) async throws -> TestHTTP.Reply {
        try await send(.POST, base + "/v2/models/\(model)/infer",
                       body: Array(#"{"inputs": [{"name": "INPUT0", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]}]}"#.utf8), token: token)
    }

    func shutdown() async throws { try await http.shutdown() }
}
