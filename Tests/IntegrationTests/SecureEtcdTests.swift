import Foundation
import MeshTestSupport
import Testing

extension Integration {
    /// etcd over TLS with client certificates, and etcd's own authentication with a user that
    /// may only touch the mesh's prefix.
    @Suite struct SecureEtcd {
        static func etcdctl(_ etcd: EtcdServer, _ client: String, _ arguments: [String], user: String? = nil) throws -> String {
            try runCommand("etcdctl", [
                "--endpoints", etcd.clientURL, "--cacert", client + "/ca.crt", "--cert", client + "/tls.crt", "--key", client + "/tls.key",
            ] + (user.map { ["--user", $0] } ?? []) + arguments, environment: ["ETCDCTL_API": "3"])
        }

        /// etcd serving TLS, with authentication on and a user `mesh` that may use `/mm/` only:
        /// the server, the peers' flags for it, the client certificate's directory and the
        /// directory of the password file (remove it when done).
        static func startGuarded(ca: TestCertificateAuthority, extraArguments: [String] = []) async throws
            -> (etcd: EtcdServer, peerArguments: [String], client: String, password: TemporaryDirectory) {
            let etcdSecret = try ca.issue("etcd")
            let client = try ca.issue("etcd-client", ips: [], dnsNames: ["etcd-client"], commonName: false)
            let etcd = try await EtcdServer.start(extraArguments: extraArguments, tlsSecret: etcdSecret)
            let password = try TemporaryDirectory(prefix: "mesh-etcd-user")
            do {
                _ = try etcdctl(etcd, client, ["user", "add", "root:root-password", "--interactive=false"])
                _ = try? etcdctl(etcd, client, ["user", "grant-role", "root", "root"])
                _ = try etcdctl(etcd, client, ["role", "add", "mesh"])
                _ = try etcdctl(etcd, client, ["role", "grant-permission", "mesh", "--prefix=true", "readwrite", "/mm/"])
                _ = try etcdctl(etcd, client, ["user", "add", "mesh:mesh-password", "--interactive=false"])
                _ = try etcdctl(etcd, client, ["user", "grant-role", "mesh", "mesh"])
                _ = try etcdctl(etcd, client, ["auth", "enable"])
                try Data("mesh-password\n".utf8).write(to: URL(fileURLWithPath: password.appending("password")))
            } catch {
                await etcd.destroy()
                password.remove()
                throw error
            }
            let arguments = [
                "--etcd-ca-file", client + "/ca.crt", "--etcd-cert-file", client + "/tls.crt", "--etcd-key-file", client + "/tls.key",
                "--etcd-username", "mesh", "--etcd-password-file", password.appending("password"),
            ]
            return (etcd, arguments, client, password)
        }

        @Test func peersUseEtcdOverTLSWithAUserAndRenewTheirToken() async throws {
            let ca = try TestCertificateAuthority.make()
            defer { ca.remove() }
            // Simple tokens lapse after 2 s here, so the peers must ask for new ones while they run.
            let (etcd, peerArguments, client, password) = try await Self.startGuarded(ca: ca, extraArguments: ["--auth-token-ttl", "2"])
            defer { password.remove() }
            let access = peerArguments + ["--lease-ttl", "4s"]
            let mesh = try await LocalMesh.start(peers: 2, arguments: access, etcd: etcd)
            do {
                #expect(try await mesh.peers[0].register("guarded", storage: try mesh.syntheticModel("guarded")).status == 201)
                #expect(try await mesh.peers[1].infer("guarded").status == 200)
                // The records are in etcd, readable by the mesh's user only.
                #expect(try Self.etcdctl(etcd, client, ["get", "--prefix", "--keys-only", "/mm/"], user: "mesh:mesh-password").contains("guarded"))
                #expect(throws: CommandFailure.self) { try Self.etcdctl(etcd, client, ["get", "--prefix", "/mm/"]) }

                // Past several token lifetimes the peers still register, watch and keep their leases.
                try await Task.sleep(for: .seconds(6))
                #expect(try await mesh.peers[1].register("later", storage: try mesh.syntheticModel("later")).status == 201)
                #expect(try await eventually(timeout: .seconds(10)) { try await mesh.peers[0].infer("later").status == 200 })
                for peer in mesh.peers { #expect(try await TestHTTP.get(peer.url + "/v2/health/ready").status == 200) }
            } catch {
                Issue.record(error)
            }
            await mesh.destroy()
        }

        @Test func aPeerWithAWrongEtcdPasswordSaysSo() async throws {
            let ca = try TestCertificateAuthority.make()
            defer { ca.remove() }
            let etcd = try await EtcdServer.start(tlsSecret: try ca.issue("etcd"))
            let client = try ca.issue("etcd-client", ips: [], dnsNames: ["etcd-client"], commonName: false)
            _ = try Self.etcdctl(etcd, client, ["user", "add", "root:root-password", "--interactive=false"])
            _ = try? Self.etcdctl(etcd, client, ["user", "grant-role", "root", "root"])
            _ = try Self.etcdctl(etcd, client, ["auth", "enable"])
            let password = try TemporaryDirectory(prefix: "mesh-etcd-user")
            defer { password.remove() }
            try Data("not-the-password".utf8).write(to: URL(fileURLWithPath: password.appending("password")))
            let error = await #expect(throws: (any Error).self) {
                try await LocalMesh.start(peers: 1, arguments: [
                    "--etcd-ca-file", client + "/ca.crt", "--etcd-cert-file", client + "/tls.crt", "--etcd-key-file", client + "/tls.key",
                    "--etcd-username", "root", "--etcd-password-file", password.appending("password"),
                ], etcd: etcd).destroy()
            }
            #expect("\(error.map { "\($0)" } ?? "")".contains("authentication failed"), "\(String(describing: error))")
            await etcd.destroy()
        }
    }
}
