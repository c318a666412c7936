import AsyncHTTPClient
import Foundation
import Synchronization

/// One real `etcd` member on loopback ports with its own temporary data directory.
///
/// A test starts it, uses ``clientURL``, and calls ``destroy()`` at the end; ``stop()``/``kill9()``
/// and ``restart()`` keep the data directory and ports, so a restarted member comes back with its
/// data, as after a crash.
public final class EtcdServer: Sendable {
    public let name: String
    public let clientPort: Int
    public let peerPort: Int
    public let dataDirectory: TemporaryDirectory
    private let initialCluster: String
    /// Flags added to every launch (benchmarks raise `--quota-backend-bytes`, for example).
    private let extraArguments: [String]
    private let current = Mutex<ManagedProcess?>(nil)
    /// Where it runs: loopback, or a host of a ``NetworkLab``.
    public let host: ProcessHost

    /// The Secret directory (`tls.crt`, `tls.key`, `ca.crt`) it serves clients TLS with, asking
    /// them for a certificate the CA signed; nil: plaintext.
    public let tlsSecret: String?
    /// Health and metrics over plaintext, for members that serve clients TLS.
    let metricsPort: Int

    public var clientURL: String { "\(tlsSecret == nil ? "http" : "https")://\(host.address):\(clientPort)" }
    var healthURL: String {
        tlsSecret == nil ? "\(clientURL)/health" : "http://\(host.address):\(metricsPort)/health"
    }
    public var peerURL: String { "http://\(host.address):\(peerPort)" }
    public var pid: Int32? { current.withLock { $0?.pid } }

    /// Starts a single-member cluster and waits until it serves requests.
    public static func start(name: String = "etcd", extraArguments: [String] = [], host: ProcessHost = .loopback,
                             tlsSecret: String? = nil) async throws -> EtcdServer {
        let ports = FreePort.next(3)
        let server = try EtcdServer(
            name: name, clientPort: ports[0], peerPort: ports[1],
            initialCluster: "\(name)=http://\(host.address):\(ports[1])", extraArguments: extraArguments, host: host,
            tlsSecret: tlsSecret, metricsPort: ports[2]
        )
        try server.launch()
        try await server.waitUntilHealthy()
        return server
    }

    init(name: String, clientPort: Int, peerPort: Int, initialCluster: String, extraArguments: [String] = [], host: ProcessHost = .loopback,
         tlsSecret: String? = nil, metricsPort: Int = 0) throws {
        self.tlsSecret = tlsSecret
        self.metricsPort = metricsPort
        self.name = name
        self.host = host
        self.extraArguments = extraArguments
        self.clientPort = clientPort
        self.peerPort = peerPort
        self.initialCluster = initialCluster
        self.dataDirectory = try TemporaryDirectory(prefix: "mesh-test-\(name)")
    }

    func launch() throws {
        let arguments = [
            "--name", name,
            "--data-dir", dataDirectory.appending("data"),
            "--listen-client-urls", clientURL,
            "--advertise-client-urls", clientURL,
            "--listen-peer-urls", peerURL,
            "--initial-advertise-peer-urls", peerURL,
            "--initial-cluster", initialCluster,
            "--initial-cluster-token", "mesh-test",
            "--initial-cluster-state", "new",
            // Keeps idle watches visibly alive, so resumption after restarts is exercised often.
            "--experimental-watch-progress-notify-interval", "2s",
            "--logger", "zap", "--log-outputs", "stderr",
        ] + tlsArguments + extraArguments
        let process = try ManagedProcess(
            name: name, executable: "etcd", arguments: arguments,
            logPath: dataDirectory.appending("etcd.log"), launcher: host.launcher
        )
        current.withLock { $0 = process }
    }

    private var tlsArguments: [String] {
        guard let tlsSecret else { return [] }
        return [
            "--cert-file", tlsSecret + "/tls.crt", "--key-file", tlsSecret + "/tls.key",
            "--trusted-ca-file", tlsSecret + "/ca.crt", "--client-cert-auth",
            "--listen-metrics-urls", "http://\(host.address):\(metricsPort)",
        ]
    }

    /// Polls `/health` until the member reports healthy (it has a leader), or throws.
    public func waitUntilHealthy(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let process = current.withLock({ $0 }), !process.isRunning {
                throw TestSupportError("etcd \(name) exited during start-up:\n\(process.logTail())")
            }
            if await isHealthy() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSupportError("etcd \(name) at \(clientURL) did not become healthy within \(timeout)")
    }

    public func isHealthy() async -> Bool {
        var request = HTTPClientRequest(url: healthURL)
        request.method = .GET
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(1)),
              response.status == .ok,
              let body = try? await response.body.collect(upTo: 1 << 16)
        else { return false }
        return String(buffer: body).contains("\"true\"")
    }

    /// SIGTERM and wait: a clean stop.
    public func stop() async {
        guard let process = current.withLock({ $0 }) else { return }
        await process.stop()
    }

    /// Sends `signal` to the running member (SIGSTOP freezes it, SIGCONT thaws it).
    public func send(_ signal: Int32) {
        current.withLock { $0?.send(signal) }
    }

    /// SIGKILL: a crash.
    public func kill9() async {
        guard let process = current.withLock({ $0 }) else { return }
        await process.kill9()
    }

    /// Starts the member again on the same ports and data directory.
    public func restart(waitForHealth: Bool = true) async throws {
        if let process = current.withLock({ $0 }), process.isRunning { await process.stop() }
        try launch()
        if waitForHealth { try await waitUntilHealthy() }
    }

    /// Stops the member and deletes its data directory.
    public func destroy() async {
        await stop()
        dataDirectory.remove()
    }

    public func logTail(lines: Int = 40) -> String {
        current.withLock { $0?.logTail(lines: lines) } ?? ""
    }
}

/// A three-member (or N-member) etcd cluster on loopback, or on hosts of a ``NetworkLab``.
public final class EtcdCluster: Sendable {
    public let members: [EtcdServer]

    public var clientURLs: [String] { members.map(\.clientURL) }

    public static func start(size: Int = 3, hosts: [ProcessHost]? = nil) async throws -> EtcdCluster {
        let names = (0..<size).map { "etcd-\($0)" }
        let ports = FreePort.next(size * 2)
        let host = { (index: Int) in hosts?[index] ?? .loopback }
        let initialCluster = names.indices.map { "\(names[$0])=http://\(host($0).address):\(ports[$0 * 2 + 1])" }
            .joined(separator: ",")
        var members: [EtcdServer] = []
        for index in names.indices {
            members.append(try EtcdServer(
                name: names[index], clientPort: ports[index * 2], peerPort: ports[index * 2 + 1],
                initialCluster: initialCluster, host: host(index)
            ))
        }
        let cluster = EtcdCluster(members: members)
        do {
            for member in members { try member.launch() }
            for member in members { try await member.waitUntilHealthy(timeout: .seconds(60)) }
        } catch {
            await cluster.destroy()
            throw error
        }
        return cluster
    }

    init(members: [EtcdServer]) { self.members = members }

    public func destroy() async {
        for member in members { await member.destroy() }
    }
}
