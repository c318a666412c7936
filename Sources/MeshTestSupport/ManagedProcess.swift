import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process started by a test: its output goes to a log file, and it is stopped by PID.
///
/// Every process started here is remembered until it has been reaped, and a process exit handler
/// kills whatever is still running, so a failed test does not leave servers behind.
public final class ManagedProcess: Sendable {
    public let name: String
    public let executable: String
    public let arguments: [String]
    public let logPath: String
    private let process: Process

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// Starts `executable` (a path, or a name looked up in `PATH`), through `launcher` when
    /// given (`ip netns exec NS`, which execs the executable: the PID is still the server's).
    public init(
        name: String,
        executable: String,
        arguments: [String],
        environment: [String: String] = [:],
        logPath: String,
        workingDirectory: String? = nil,
        launcher: [String] = []
    ) throws {
        self.name = name
        self.executable = try ManagedProcess.resolve(executable)
        self.arguments = arguments
        self.logPath = logPath
        let process = Process()
        if let tool = launcher.first {
            process.executableURL = URL(fileURLWithPath: try ManagedProcess.resolve(tool))
            process.arguments = Array(launcher.dropFirst()) + [self.executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: self.executable)
            process.arguments = arguments
        }
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        ProcessRegistry.shared.add(process.processIdentifier)
    }

    /// Sends `signal` without waiting.
    public func send(_ signal: Int32) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
    }

    /// SIGKILL, then waits until the process is gone.
    public func kill9() async {
        send(SIGKILL)
        await waitForExit(timeout: .seconds(10))
    }

    /// SIGTERM, waits up to `grace`, then SIGKILL.
    public func stop(grace: Duration = .seconds(10)) async {
        send(SIGTERM)
        if await waitForExit(timeout: grace) { return }
        send(SIGKILL)
        await waitForExit(timeout: .seconds(10))
    }

    /// Waits for the process to exit; returns false on timeout.
    @discardableResult
    public func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        ProcessRegistry.shared.remove(process.processIdentifier)
        return true
    }

    /// The log so far, for test failure messages.
    public func logTail(lines: Int = 40) -> String {
        guard let data = FileManager.default.contents(atPath: logPath) else { return "" }
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    private static func resolve(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TestSupportError("\(executable) is not installed (not found in PATH); tools/test installs it")
    }
}

/// PIDs of children still alive, killed when the test process exits.
final class ProcessRegistry: Sendable {
    static let shared = ProcessRegistry()
    private let pids = Mutex<Set<Int32>>([])

    private init() {
        atexit {
            for pid in ProcessRegistry.shared.pids.withLock({ $0 }) { kill(pid, SIGKILL) }
        }
    }

    func add(_ pid: Int32) { _ = pids.withLock { $0.insert(pid) } }
    func remove(_ pid: Int32) { _ = pids.withLock { $0.remove(pid) } }
}

/// An error from the test harness itself (a missing tool, a server that never came up).
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
