import Foundation

/// A Python runtime beside a peer (`Tests/IntegrationTests/Scripts/spi_runtime.py`, a ModelMesh
/// runtime) on a loopback port, restartable on the same port; its calls are logged as JSON lines.
public final class ScriptedRuntimeProcess: Sendable {
    public let port: Int
    public let callLog: String
    let script: String
    let arguments: [String]
    let logPath: String
    /// Its scratch files go here (a kill -9 leaves them to the test's directory).
    let scratch: String
    private let current = ManagedProcessHolder()

    public var address: String { "127.0.0.1:\(port)" }

    /// Starts `script --port P --log L arguments...` and waits until it prints `listening`.
    public static func start(script: String, arguments: [String], in directory: TemporaryDirectory, name: String) async throws -> ScriptedRuntimeProcess {
        let runtime = ScriptedRuntimeProcess(port: FreePort.next(), script: script, arguments: arguments,
                                             callLog: directory.appending("\(name)-calls.jsonl"), logPath: directory.appending("\(name).log"),
                                             scratch: directory.path)
        try await runtime.launch(extra: [])
        return runtime
    }

    init(port: Int, script: String, arguments: [String], callLog: String, logPath: String, scratch: String) {
        self.scratch = scratch
        self.port = port
        self.script = script
        self.arguments = arguments
        self.callLog = callLog
        self.logPath = logPath
    }

    /// Starts it (again) on its port; `extra` arguments apply to this start only.
    public func launch(extra: [String], timeout: Duration = .seconds(30)) async throws {
        let process = try ManagedProcess(
            name: "runtime", executable: "python3", arguments: [script, "--port", "\(port)", "--log", callLog] + arguments + extra,
            environment: ["TMPDIR": scratch], logPath: logPath
        )
        current.process = process
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw TestSupportError("\(script) exited at start:\n\(process.logTail())") }
            // (Each start begins a fresh log.)
            if let text = try? String(contentsOfFile: logPath, encoding: .utf8), text.contains("listening") { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSupportError("\(script) did not start within \(timeout):\n\(process.logTail())")
    }

    /// The calls it logged so far, each a JSON object.
    public func calls() -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: callLog, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    public func kill9() async { await current.process?.kill9() }

    public func stop() async { await current.process?.stop(grace: .seconds(10)) }

    public func logTail(lines: Int = 40) -> String { current.process?.logTail(lines: lines) ?? "" }
}
