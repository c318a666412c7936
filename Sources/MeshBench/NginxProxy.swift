import Foundation
import MeshTestSupport

/// Debian's nginx as a reverse proxy on loopback in front of one upstream: the C baseline for a
/// hop. Tuned as one would for a proxy hop: keep-alive to the upstream, no buffering to disk,
/// no access log, one worker per core.
public final class NginxProxy: Sendable {
    public let port: Int
    /// The HTTP/2 port relaying gRPC (`grpc_pass`), when started with a gRPC upstream.
    public let grpcPort: Int?
    let process: ManagedProcess
    let directory: TemporaryDirectory

    public var url: String { "http://127.0.0.1:\(port)" }

    /// The configuration file for a proxy on `port` in front of `upstream` (`host:port`), and on
    /// `grpcPort` relaying gRPC to `grpcUpstream` when given.
    public static func configuration(port: Int, upstream: String, grpcPort: Int? = nil, grpcUpstream: String? = nil, directory: String) -> String {
        var grpc = ""
        if let grpcPort, let grpcUpstream {
            grpc = """
                upstream peer_grpc {
                    server \(grpcUpstream);
                    keepalive 256;
                    keepalive_requests 1000000;
                    keepalive_timeout 60s;
                }
                server {
                    listen 127.0.0.1:\(grpcPort) http2 reuseport backlog=4096;
                    keepalive_requests 1000000;
                    client_max_body_size 64m;
                    location / {
                        grpc_pass grpc://peer_grpc;
                        tcp_nodelay on;
                    }
                }
            """
        }
        return """
        daemon off;
        master_process on;
        worker_processes auto;
        pid \(directory)/nginx.pid;
        error_log \(directory)/error.log warn;
        events {
            worker_connections 4096;
            multi_accept on;
        }
        http {
            access_log off;
            client_body_temp_path \(directory)/body;
            proxy_temp_path \(directory)/proxy;
            fastcgi_temp_path \(directory)/fastcgi;
            uwsgi_temp_path \(directory)/uwsgi;
            scgi_temp_path \(directory)/scgi;
            upstream peer {
                server \(upstream);
                keepalive 256;
                keepalive_requests 1000000;
                keepalive_timeout 60s;
            }
            server {
                listen 127.0.0.1:\(port) reuseport backlog=4096;
                keepalive_requests 1000000;
                client_max_body_size 64m;
                client_body_buffer_size 1m;
                location / {
                    proxy_pass http://peer;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_buffering on;
                    proxy_buffers 16 64k;
                    proxy_request_buffering on;
                    tcp_nodelay on;
                }
            }
        \(grpc)
        }

        """
    }

    /// Writes the configuration and starts nginx; returns once it accepts connections.
    public static func start(upstream: String, grpcUpstream: String? = nil, port: Int = FreePort.next()) async throws -> NginxProxy {
        let directory = try TemporaryDirectory(prefix: "mesh-bench-nginx")
        let file = directory.appending("nginx.conf")
        let grpcPort = grpcUpstream.map { _ in FreePort.next() }
        try Data(configuration(port: port, upstream: upstream, grpcPort: grpcPort, grpcUpstream: grpcUpstream, directory: directory.path).utf8)
            .write(to: URL(fileURLWithPath: file))
        let process = try ManagedProcess(name: "nginx", executable: nginxExecutable(), arguments: ["-c", file, "-p", directory.path],
                                         logPath: directory.appending("stdout.log"))
        let proxy = NginxProxy(port: port, grpcPort: grpcPort, process: process, directory: directory)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                let errors = (try? String(contentsOfFile: directory.appending("error.log"), encoding: .utf8)) ?? ""
                throw TestSupportError("nginx exited during start-up: \(process.logTail())\(errors)")
            }
            if (try? await TestHTTP.get(proxy.url + "/v2/health/live", timeout: .seconds(1))) != nil { return proxy }
            try await Task.sleep(for: .milliseconds(50))
        }
        await proxy.stop()
        throw TestSupportError("nginx did not accept connections on \(port) within 10 s")
    }

    init(port: Int, grpcPort: Int?, process: ManagedProcess, directory: TemporaryDirectory) {
        self.port = port
        self.grpcPort = grpcPort
        self.process = process
        self.directory = directory
    }

    /// The master and its workers, whose CPU time is the proxy's.
    public var processIDs: [Int32] { [process.pid] + ProcessStats.children(of: process.pid) }

    public func stop() async {
        await process.stop()
        directory.remove()
    }

    /// nginx lives in /usr/sbin, which is not always on a non-root PATH.
    static func nginxExecutable() throws -> String {
        for candidate in ["/usr/sbin/nginx", "/usr/bin/nginx"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw TestSupportError("nginx is not installed (Debian: apt-get install nginx-light); tools/bench installs it")
    }

    /// The installed version, for the report.
    public static func version() -> String {
        guard let path = try? nginxExecutable() else { return "not installed" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-v"]
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return "unknown" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "nginx version: ", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
