import AsyncHTTPClient
import MeshTestSupport

/// A Python HTTP server on a loopback address for the egress tests: one that serves a directory
/// on an address other than 127.0.0.1, or one that answers every GET with a 302 to another URL.
final class LoopbackServer: Sendable {
    enum Kind {
        case files(root: String)
        /// `Location` is `target` followed by the request's path.
        case redirect(to: String)
    }

    let host: String
    let port: Int
    private let process: ManagedProcess
    private let logs: TemporaryDirectory

    var baseURL: String { host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)" }

    static func start(_ kind: Kind, host: String = "127.0.0.1") async throws -> LoopbackServer {
        let port = FreePort.next()
        let logs = try TemporaryDirectory(prefix: "mesh-test-loopback-server")
        let arguments: [String]
        let readyPath: String
        switch kind {
        case .files(let root):
            arguments = ["-m", "http.server", "\(port)", "--bind", host, "--directory", root]
            readyPath = "/"
        case .redirect(let target):
            arguments = ["-c", redirectScript, host, "\(port)", target]
            readyPath = "/_ready"
        }
        let process = try ManagedProcess(name: "python3 server", executable: "python3", arguments: arguments, logPath: logs.appending("server.log"))
        let server = LoopbackServer(host: host, port: port, process: process, logs: logs)
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw TestSupportError("python3 server exited:\n\(process.logTail())") }
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: server.baseURL + readyPath), timeout: .seconds(1)),
               response.status == .ok {
                _ = try? await response.body.collect(upTo: 1 << 20)
                return server
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await server.stop()
        throw TestSupportError("python3 server on \(server.baseURL) did not answer")
    }

    private init(host: String, port: Int, process: ManagedProcess, logs: TemporaryDirectory) {
        self.host = host
        self.port = port
        self.process = process
        self.logs = logs
    }

    /// SIGKILL: the server keeps no state, and a SIGTERM may wait out a grace period.
    func stop() async {
        await process.kill9()
        logs.remove()
    }

    private static let redirectScript = """
        import http.server, sys
        host, port, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        class Redirect(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/_ready":
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    return
                self.send_response(302)
                self.send_header("Location", target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
        http.server.HTTPServer((host, port), Redirect).serve_forever()
        """
}
