@testable import EtcdGateway
import MeshTestSupport
import NIOSSL
import Testing

/// etcd over TLS with a client certificate, and etcd's user authentication through the gateway.
@Suite(.timeLimit(.minutes(5))) struct AuthTests {
    @Test func aLapsedTokenIsRenewedAndCallsGoOn() async throws {
        let ca = try TestCertificateAuthority.make()
        defer { ca.remove() }
        // Tokens lapse after a second without use.
        let etcd = try await EtcdServer.start(extraArguments: ["--auth-token-ttl", "1"], tlsSecret: try ca.issue("etcd"))
        // etcd's gateway refuses client certificates with a Common Name.
        let secret = try ca.issue("client", ips: [], dnsNames: ["client"], commonName: false)
        func etcdctl(_ arguments: [String]) throws {
            _ = try runCommand("etcdctl", ["--endpoints", etcd.clientURL, "--cacert", ca.certificatePath,
                                           "--cert", secret + "/tls.crt", "--key", secret + "/tls.key"] + arguments,
                               environment: ["ETCDCTL_API": "3"])
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(ca.certificatePath)
        tls.certificateChain = try NIOSSLCertificate.fromPEMFile(secret + "/tls.crt").map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: secret + "/tls.key", format: .pem))
        var configuration = EtcdClient.Configuration(endpoints: [etcd.clientURL])
        configuration.tls = tls
        let anonymous = EtcdClient(configuration)
        configuration.credentials = .init(username: "root", password: "root-password")
        let client = EtcdClient(configuration)
        do {
            // Over TLS, before authentication is on.
            _ = try await anonymous.put("/t/open", "yes")
            try etcdctl(["user", "add", "root:root-password", "--interactive=false"])
            try? etcdctl(["user", "grant-role", "root", "root"])
            try etcdctl(["auth", "enable"])

            _ = try await client.put("/t/a", "one")
            let first = try #require(try await client.currentAuthToken())
            try await Task.sleep(for: .seconds(3))
            #expect(try await client.get("/t/a")?.valueString == "one")
            let second = try #require(try await client.currentAuthToken())
            #expect(first != second, "the lapsed token was not replaced")

            // Without a user, etcd refuses.
            await #expect(throws: EtcdError.self) { try await anonymous.get("/t/a") }
        } catch {
            Issue.record(error)
        }
        try await client.shutdown()
        try await anonymous.shutdown()
        await etcd.destroy()
    }
}
