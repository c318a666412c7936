import Logging
import Synchronization

/// Keeps every log line (message and metadata) so tests can assert that no secret was logged.
final class LogRecorder: Sendable {
    private let lines = Mutex<[String]>([])

    func logger(_ label: String) -> Logger {
        var logger = Logger(label: label) { _ in RecordingHandler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    var all: [String] { lines.withLock { $0 } }

    func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }
}

private struct RecordingHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        recorder.append("\(event.level) \(event.message) \(merged)")
    }
}
