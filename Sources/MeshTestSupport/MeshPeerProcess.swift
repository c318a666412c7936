import Foundation
import Synchronization

/// One `modelmesh` peer process on loopback, for integration tests.
public final class MeshPeerProcess: Sendable {
    public let id: String
    public let httpPort: Int
    /// The gRPC port (`--grpc-port`).
    public let grpcPort: Int
    public let arguments: [String]
    public let logPath: String
    private let current = Mutex<ManagedProcess?>(nil)
    /// Where it runs: loopback, or a host of a ``NetworkLab``.
    public let host: ProcessHost

    /// `https` when the peer serves TLS (`--tls-cert-file`).
    public var scheme: String { arguments.contains("--tls-cert-file") ? "https" : "http" }
    public var url: String { "\(scheme)://\(host.address):\(httpPort)" }
    public var pid: Int32? { current.withLock { $0?.pid } }
    public var isRunning: Bool { current.withLock { $0?.isRunning ?? false } }

    public init(id: String, httpPort: Int, grpcPort: Int, arguments: [String], logPath: String, host: ProcessHost = .loopback) {
        self.id = id
        self.host = host
        self.httpPort = httpPort
        self.grpcPort = grpcPort
        self.arguments = arguments
        self.logPath = logPath
    }

    /// The directory with the built executables (next to the test bundle, or `MESH_BIN_DIR`).
    public static var binDirectory: String {
        if let directory = ProcessInfo.processInfo.environment["MESH_BIN_DIR"] { return directory }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    }

    public static func executable(_ name: String) throws -> String {
        let path = binDirectory + "/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestSupportError("\(path) is missing; run `swift build` before the tests (tools/test does)")
        }
        return path
    }

    /// Starts the process (without waiting for it to be ready).
    public func launch() throws {
        let process = try ManagedProcess(
            name: id, executable: try MeshPeerProcess.executable("modelmesh"), arguments: arguments,
            environment: ["MM_LOG_LEVEL": ProcessInfo.processInfo.environment["MESH_PEER_LOG"] ?? "info"],
            logPath: logPath, launcher: host.launcher
        )
        current.withLock { $0 = process }
    }

    /// Waits until the peer reports ready (registered in etcd, view loaded).
    public func waitUntilReady(timeout: Duration = .seconds(30), pollEvery interval: Duration = .milliseconds(50)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let process = current.withLock({ $0 }), !process.isRunning {
                throw TestSupportError("peer \(id) exited with status \(process.exitStatus ?? -1):\n\(logTail())")
            }
            if let response = try? await TestHTTP.get(url + "/v2/health/ready", timeout: .seconds(1)), response.status == 200 { return }
            try await Task.sleep(for: interval)
        }
        throw TestSupportError("peer \(id) did not become ready within \(timeout):\n\(logTail())")
    }

    public func kill9() async {
        guard let process = current.withLock({ $0 }) else { return }
        await process.kill9()
    }

    /// SIGTERM and wait (graceful shutdown).
    public func stop(grace: Duration = .seconds(30)) async {
        guard let process = current.withLock({ $0 }) else { return }
        await process.stop(grace: grace)
    }

    /// Sends `signal` to the running process (SIGSTOP freezes it, SIGCONT thaws it).
    public func send(_ signal: Int32) {
        current.withLock { $0?.send(signal) }
    }

    public func sendSIGTERM() {
        current.withLock { $0?.send(SIGTERM) }
    }

    public func waitForExit(timeout: Duration) async -> Int32? {
        guard let process = current.withLock({ $0 }) else { return nil }
        guard await process.waitForExit(timeout: timeout) else { return nil }
        return process.exitStatus
    }

    /// Starts the peer again with the same id, port and arguments.
    public func restart(waitUntilReady: Bool = true) async throws {
        if isRunning { await stop() }
        try launch()
        if waitUntilReady { try await self.waitUntilReady() }
    }

    public func logTail(lines: Int = 60) -> String {
        current.withLock { $0?.logTail(lines: lines) } ?? ""
    }

    public var log: String {
        (FileManager.default.contents(atPath: logPath)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}

/// A real etcd and N real peers on loopback, named like a StatefulSet (`mesh-0`, `mesh-1`, ...).
public final class LocalMesh: Sendable {
    /// The first etcd member (the only one unless the mesh was started with several).
    public var etcd: EtcdServer { etcdMembers[0] }
    public let etcdMembers: [EtcdServer]
    public let peers: [MeshPeerProcess]
    public let cluster: String
    public let workDirectory: TemporaryDirectory
    /// The network the processes run in, when they were started in one.
    public let lab: NetworkLab?

    public var etcdPrefix: String { "/mm/\(cluster)" }

    /// Starts etcd and `count` peers; `arguments` adds flags to every peer, `perPeer` to one.
    /// With `networkLab`, etcd and each peer run on their own host of a new ``NetworkLab``
    /// (`etcd`, or `etcd-0`, `etcd-1`, ... for several members; `mesh-0`, ...), so tests can cut
    /// links between them.
    public static func start(
        peers count: Int, etcdMembers: Int = 1, arguments: [String] = [], perPeer: [Int: [String]] = [:], waitUntilReady: Bool = true,
        networkLab: Bool = false, etcd given: EtcdServer? = nil
    ) async throws -> LocalMesh {
        let etcdHosts = etcdMembers == 1 ? ["etcd"] : (0..<etcdMembers).map { "etcd-\($0)" }
        let lab = networkLab ? try NetworkLab.create(hosts: etcdHosts + (0..<count).map { "mesh-\($0)" }) : nil
        let members: [EtcdServer]
        do {
            if let given {
                members = [given]
            } else if let lab, etcdMembers == 1 {
                members = [try await EtcdServer.start(host: lab.host("etcd"))]
            } else if let lab {
                members = try await EtcdCluster.start(size: etcdMembers, hosts: etcdHosts.map(lab.host)).members
            } else {
                members = etcdMembers == 1 ? [try await EtcdServer.start()] : try await EtcdCluster.start(size: etcdMembers).members
            }
        } catch {
            lab?.destroy()
            throw error
        }
        let endpoints = members.map(\.clientURL).joined(separator: ",")
        let directory = try TemporaryDirectory(prefix: "mesh-test")
        let cluster = "test"
        let ports = FreePort.next(count)
        let grpcPorts = FreePort.next(count)
        let peers = (0..<count).map { index in
            let host = lab?.host("mesh-\(index)") ?? .loopback
            return MeshPeerProcess(
                id: "mesh-\(index)", httpPort: ports[index], grpcPort: grpcPorts[index],
                arguments: [
                    "--peer-id", "mesh-\(index)", "--cluster", cluster, "--etcd-endpoints", endpoints,
                    "--listen-host", host.address, "--advertise-host", host.address, "--http-port", String(ports[index]),
                    "--grpc-port", String(grpcPorts[index]),
                    "--models-root", directory.path,
                ] + arguments + (perPeer[index] ?? []),
                logPath: directory.appending("mesh-\(index).log"), host: host
            )
        }
        let mesh = LocalMesh(etcdMembers: members, peers: peers, cluster: cluster, workDirectory: directory, lab: lab)
        do {
            for peer in peers { try peer.launch() }
            if waitUntilReady {
                for peer in peers { try await peer.waitUntilReady() }
            }
        } catch {
            await mesh.destroy()
            throw error
        }
        return mesh
    }

    init(etcdMembers: [EtcdServer], peers: [MeshPeerProcess], cluster: String, workDirectory: TemporaryDirectory, lab: NetworkLab? = nil) {
        self.lab = lab
        self.etcdMembers = etcdMembers
        self.peers = peers
        self.cluster = cluster
        self.workDirectory = workDirectory
    }

    /// Stops every peer (SIGKILL: tests of graceful shutdown stop peers themselves) and etcd.
    public func destroy() async {
        for peer in peers { await peer.kill9() }
        for member in etcdMembers { await member.destroy() }
        lab?.destroy()
        if ProcessInfo.processInfo.environment["MESH_KEEP_LOGS"] == nil { workDirectory.remove() }
    }

    /// Writes a synthetic model definition and returns its path.
    public func syntheticModel(_ name: String, json: String = "{}") throws -> String {
        let path = workDirectory.appending("\(name).json")
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `etcdctl get --prefix <cluster prefix>`, as an operator would run it.
    public func etcdctlGet(_ suffix: String = "/", keysOnly: Bool = false) throws -> String {
        let endpoints = etcdMembers.map(\.clientURL).joined(separator: ",")
        var arguments = ["--endpoints", endpoints, "get", "--prefix", etcdPrefix + suffix]
        if keysOnly { arguments.append("--keys-only") }
        return try runCommand("etcdctl", arguments, environment: ["ETCDCTL_API": "3"])
    }

    /// All peers' logs, for failure messages.
    public func logs(lines: Int = 40) -> String {
        peers.map { "--- \($0.id) ---\n\($0.logTail(lines: lines))" }.joined(separator: "\n")
    }
}

/// Runs a command to completion and returns its standard output (throws on a non-zero exit).
public func runCommand(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> String {
    let process = Process()
    let path = executable.contains("/") ? executable : (try? findExecutable(executable)) ?? executable
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    var merged = ProcessInfo.processInfo.environment
    for (key, value) in environment { merged[key] = value }
    process.environment = merged
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw CommandFailure(status: process.terminationStatus, output: text, errors: String(decoding: errorData, as: UTF8.self))
    }
    return text
}

public struct CommandFailure: Error, CustomStringConvertible {
    public let status: Int32
    public let output: String
    public let errors: String
    public var description: String { "exit \(status): \(errors)\(output)" }
}

func findExecutable(_ name: String) throws -> String {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw TestSupportError("\(name) is not installed")
}

#if canImport(Glibc)
import Glibc
#endif
