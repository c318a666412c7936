import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// A real S3 API (`moto_server`, PyPI `moto[server]`) on a loopback port, with authentication
/// enforced: every S3 request's SigV4 signature is checked, so a wrong secret gets
/// `SignatureDoesNotMatch`.
///
/// moto checks signatures once its first `INITIAL_NO_AUTH_ACTION_COUNT` actions are spent. The
/// harness spends exactly those on IAM: a user allowed `s3:*`, a user allowed only
/// `s3:GetObject`, and a user without permissions (for `AccessDenied`), each with an access key.
public final class MotoServer: Sendable {
    public let port: Int
    public let directory: TemporaryDirectory
    /// The CA certificate (PEM) clients must trust when the server speaks TLS.
    public let certificatePEM: String?
    /// Credentials of the user allowed everything in S3.
    public let accessKeyID: String
    public let secretAccessKey: String
    /// Credentials of a user without any permission.
    public let deniedAccessKeyID: String
    public let deniedSecretAccessKey: String
    /// Credentials of a user allowed `s3:GetObject` only (no listing).
    public let getOnlyAccessKeyID: String
    public let getOnlySecretAccessKey: String
    private let process: ManagedProcess

    public var endpointURL: String { "\(certificatePEM == nil ? "http" : "https")://127.0.0.1:\(port)" }
    public var pid: Int32 { process.pid }
    public var isRunning: Bool { process.isRunning }

    /// The IAM actions `start()` performs before authentication starts.
    static let setupActionCount = 10

    /// Runs `moto_server`'s own entry point with one fix: moto checks a request's signature
    /// against werkzeug's `request.url`, whose query string werkzeug re-quotes, decoding `%2F`
    /// and other escapes. Every signed request with a `/` in a query value (a ListObjectsV2
    /// prefix such as `models/`) then fails with SignatureDoesNotMatch, also for boto3
    /// (getmoto/moto#5948). The fix hands moto the query string exactly as it was sent.
    static let launcher = """
        import inspect, sys
        from werkzeug.sansio.request import Request
        _url = inspect.getattr_static(Request, "url").fget
        def _url_with_raw_query(self):
            base = _url(self).split("?", 1)[0]
            raw = self.query_string.decode("latin-1")
            return base + "?" + raw if raw else base
        Request.url = property(_url_with_raw_query)
        from moto.server import main
        sys.argv[0] = "moto_server"
        main()
        """

    private static let sharedServer = SharedServer()

    /// One server for the whole test process (tests use their own buckets); started on first use
    /// and killed when the process exits.
    public static func shared() async throws -> MotoServer {
        try await sharedServer.get()
    }

    /// Starts a server of its own; call ``stop()`` when done. With `tls`, it serves HTTPS with a
    /// self-signed certificate for 127.0.0.1 (made with the `openssl` command).
    public static func start(tls: Bool = false) async throws -> MotoServer {
        let port = FreePort.next()
        let directory = try TemporaryDirectory(prefix: "mesh-test-moto")
        var tlsArguments: [String] = []
        var certificatePEM: String?
        if tls {
            let certificate = try await SelfSignedCertificate.make(in: directory)
            tlsArguments = ["-s", "-c", certificate.certificatePath, "-k", certificate.keyPath]
            certificatePEM = certificate.pem
        }
        let process = try ManagedProcess(
            name: "moto_server", executable: "python3",
            arguments: ["-c", launcher, "-H", "127.0.0.1", "-p", "\(port)"] + tlsArguments,
            environment: [
                "INITIAL_NO_AUTH_ACTION_COUNT": "\(setupActionCount)",
                "AWS_DEFAULT_REGION": "us-east-1",
                "MOTO_ALLOW_NONEXISTENT_REGION": "false",
            ],
            logPath: directory.appending("moto.log"),
            workingDirectory: directory.path
        )
        do {
            let endpoint = "\(tls ? "https" : "http")://127.0.0.1:\(port)"
            try await waitUntilAnswering(endpoint: endpoint, process: process)
            let setup = IAMSetup(endpoint: endpoint)
            try await setup.action("CreateUser", ["UserName": "mesh"])
            let policy = try await setup.action("CreatePolicy", [
                "PolicyName": "mesh-s3",
                "PolicyDocument": #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
            ])
            guard let policyARN = IAMSetup.value("Arn", in: policy) else {
                throw TestSupportError("moto CreatePolicy returned no Arn:\n\(policy)")
            }
            try await setup.action("AttachUserPolicy", ["UserName": "mesh", "PolicyArn": policyARN])
            let key = try await setup.action("CreateAccessKey", ["UserName": "mesh"])
            try await setup.action("CreateUser", ["UserName": "mesh-denied"])
            let deniedKey = try await setup.action("CreateAccessKey", ["UserName": "mesh-denied"])
            try await setup.action("CreateUser", ["UserName": "mesh-get-only"])
            let getPolicy = try await setup.action("CreatePolicy", [
                "PolicyName": "mesh-s3-get",
                "PolicyDocument": #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
            ])
            try await setup.action("AttachUserPolicy", ["UserName": "mesh-get-only", "PolicyArn": IAMSetup.value("Arn", in: getPolicy) ?? ""])
            let getKey = try await setup.action("CreateAccessKey", ["UserName": "mesh-get-only"])
            guard let id = IAMSetup.value("AccessKeyId", in: key), let secret = IAMSetup.value("SecretAccessKey", in: key),
                  let deniedID = IAMSetup.value("AccessKeyId", in: deniedKey),
                  let deniedSecret = IAMSetup.value("SecretAccessKey", in: deniedKey),
                  let getID = IAMSetup.value("AccessKeyId", in: getKey),
                  let getSecret = IAMSetup.value("SecretAccessKey", in: getKey)
            else {
                throw TestSupportError("moto CreateAccessKey returned no key:\n\(key)")
            }
            return MotoServer(
                port: port, directory: directory, certificatePEM: certificatePEM, process: process,
                credentials: (id, secret), denied: (deniedID, deniedSecret), getOnly: (getID, getSecret)
            )
        } catch {
            await process.stop()
            throw TestSupportError("moto_server did not start: \(error)\n\(process.logTail())")
        }
    }

    private init(
        port: Int, directory: TemporaryDirectory, certificatePEM: String?, process: ManagedProcess,
        credentials: (String, String), denied: (String, String), getOnly: (String, String)
    ) {
        self.port = port
        self.directory = directory
        self.certificatePEM = certificatePEM
        self.process = process
        (accessKeyID, secretAccessKey) = credentials
        (deniedAccessKeyID, deniedSecretAccessKey) = denied
        (getOnlyAccessKeyID, getOnlySecretAccessKey) = getOnly
    }

    /// SIGTERM by PID (SIGKILL after a second: moto's server can wait on open connections) and
    /// removes its directory.
    public func stop() async {
        await process.stop(grace: .seconds(1))
        directory.remove()
    }

    public func logTail(lines: Int = 40) -> String { process.logTail(lines: lines) }

    private static func waitUntilAnswering(endpoint: String, process: ManagedProcess, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw TestSupportError("moto_server exited during start-up") }
            // The moto API does not count as an action, so polling it spends none of the setup.
            var request = HTTPClientRequest(url: "\(endpoint)/moto-api/")
            request.method = .GET
            request.tlsConfiguration = IAMSetup.harnessTLS
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(1)) {
                _ = try? await response.body.collect(upTo: 1 << 20)
                if response.status == .ok { return }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSupportError("moto_server at \(endpoint) did not answer within \(timeout)")
    }
}

/// Unsigned IAM query-API calls for the setup phase. moto routes a request by the service in
/// the Authorization header's credential scope and checks no signature before authentication
/// starts, so a placeholder header is enough.
private struct IAMSetup {
    let endpoint: String

    /// The harness's own set-up requests skip certificate checks; the code under test does not.
    static var harnessTLS: TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        return tls
    }

    @discardableResult
    func action(_ name: String, _ parameters: [String: String]) async throws -> String {
        let form = (["Action": name, "Version": "2010-05-08"].merging(parameters) { $1 })
            .sorted { $0.key < $1.key }
            .map { "\(Self.formEncode($0.key))=\(Self.formEncode($0.value))" }
            .joined(separator: "&")
        var request = HTTPClientRequest(url: endpoint + "/")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Authorization", value: "AWS4-HMAC-SHA256 Credential=setup/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
        request.body = .bytes(ByteBuffer(string: form))
        request.tlsConfiguration = Self.harnessTLS
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status == .ok else {
            throw TestSupportError("moto IAM \(name) failed with HTTP \(response.status.code): \(body)")
        }
        return body
    }

    static func value(_ element: String, in xml: String) -> String? {
        guard let start = xml.range(of: "<\(element)>"), let end = xml.range(of: "</\(element)>", range: start.upperBound..<xml.endIndex) else {
            return nil
        }
        return String(xml[start.upperBound..<end.lowerBound])
    }

    private static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// Starts the shared server once, even when many tests ask at the same time.
private final class SharedServer: Sendable {
    private let state = Mutex<Task<MotoServer, any Error>?>(nil)

    func get() async throws -> MotoServer {
        let task = state.withLock { current in
            if let current { return current }
            let started = Task { try await MotoServer.start() }
            current = started
            return started
        }
        return try await task.value
    }
}
