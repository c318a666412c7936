import Foundation
import Synchronization

/// A real MLServer (PyPI `mlserver` with its sklearn, XGBoost and LightGBM runtimes) on loopback
/// ports, serving a model repository the test shares with its peers.
///
/// Started as a mesh sidecar is: one process (`parallel_workers` 0: MLServer 1.7's worker
/// processes die at start with uvloop 0.23 and are orphaned by a kill), no models loaded at
/// start (the peer loads what it places), metrics off.
public final class MLServerProcess: Sendable {
    public let httpPort: Int
    public let grpcPort: Int
    public let repository: String
    let workDirectory: String
    let logPath: String
    private let current: ManagedProcessHolder

    public var restURL: String { "http://127.0.0.1:\(httpPort)" }
    public var grpcAddress: String { "127.0.0.1:\(grpcPort)" }
    public var pid: Int32? { current.process?.pid }

    /// Starts it with `repository` (created if missing) and waits until it is ready.
    public static func start(repository: String, in directory: TemporaryDirectory, name: String = "mlserver") async throws -> MLServerProcess {
        let ports = FreePort.next(2)
        let work = directory.appending("\(name)-cwd")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: repository, withIntermediateDirectories: true)
        let server = MLServerProcess(httpPort: ports[0], grpcPort: ports[1], repository: repository, workDirectory: work,
                                     logPath: directory.appending("\(name).log"))
        try await server.launch()
        return server
    }

    init(httpPort: Int, grpcPort: Int, repository: String, workDirectory: String, logPath: String) {
        self.httpPort = httpPort
        self.grpcPort = grpcPort
        self.repository = repository
        self.workDirectory = workDirectory
        self.logPath = logPath
        current = ManagedProcessHolder()
    }

    /// Starts the server (again) on the same ports and waits for `GET /v2/health/ready`.
    public func launch(timeout: Duration = .seconds(60)) async throws {
        let process = try ManagedProcess(
            name: "mlserver", executable: "mlserver", arguments: ["start", repository],
            environment: [
                "MLSERVER_HOST": "127.0.0.1", "MLSERVER_HTTP_PORT": "\(httpPort)", "MLSERVER_GRPC_PORT": "\(grpcPort)",
                "MLSERVER_PARALLEL_WORKERS": "0", "MLSERVER_METRICS_ENDPOINT": "", "MLSERVER_LOAD_MODELS_AT_STARTUP": "false",
                "MLSERVER_DEBUG": "false",
            ],
            logPath: logPath, workingDirectory: workDirectory
        )
        current.process = process
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw TestSupportError("mlserver exited at start:\n\(process.logTail())") }
            if let reply = try? await TestHTTP.get("\(restURL)/v2/health/ready", timeout: .seconds(2)), reply.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSupportError("mlserver was not ready within \(timeout):\n\(process.logTail())")
    }

    public func kill9() async { await current.process?.kill9() }

    public func stop() async { await current.process?.stop(grace: .seconds(10)) }

    public func logTail(lines: Int = 40) -> String { current.process?.logTail(lines: lines) ?? "" }
}

/// The process a restartable server runs now.
final class ManagedProcessHolder: Sendable {
    private let value = Mutex<ManagedProcess?>(nil)
    var process: ManagedProcess? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

