import AsyncHTTPClient

/// Python's `http.server` serving a directory on a loopback port: plain HTTP storage with
/// `Last-Modified` and `If-Modified-Since`, stopped by PID.
public final class HTTPFileServer: Sendable {
    public let port: Int
    public let root: TemporaryDirectory
    private let process: ManagedProcess

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public static func start() async throws -> HTTPFileServer {
        let port = FreePort.next()
        let root = try TemporaryDirectory(prefix: "mesh-test-http")
        let logs = try TemporaryDirectory(prefix: "mesh-test-http-log")
        let process = try ManagedProcess(
            name: "http.server", executable: "python3",
            arguments: ["-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", root.path],
            logPath: logs.appending("http.log")
        )
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw TestSupportError("http.server exited:\n\(process.logTail())") }
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/"), timeout: .seconds(1)) {
                _ = try? await response.body.collect(upTo: 1 << 20)
                return HTTPFileServer(port: port, root: root, process: process)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await process.stop()
        throw TestSupportError("http.server on port \(port) did not answer")
    }

    private init(port: Int, root: TemporaryDirectory, process: ManagedProcess) {
        self.port = port
        self.root = root
        self.process = process
    }

    public func stop() async {
        await process.stop(grace: .seconds(5))
        root.remove()
    }
}
