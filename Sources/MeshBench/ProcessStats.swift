import Foundation

/// Figures about processes and the machine, read from /proc.
public enum ProcessStats {
    /// Resident memory of `pid` in bytes (VmRSS), or nil if the process is gone.
    public static func residentBytes(of pid: Int32) -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int64($0) }
            return kilobytes.map { $0 * 1024 }
        }
        return nil
    }

    /// User plus system CPU time `pid` has used so far (/proc/PID/stat), or nil if it is gone.
    public static func cpuTime(of pid: Int32) -> Duration? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = text.lastIndex(of: ")") else { return nil }
        // After the command name in parentheses: state is field 3, utime 14, stime 15.
        let fields = text[text.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return nil }
        let ticks = Int64(sysconf(Int32(_SC_CLK_TCK)))
        return .microseconds((user + system) * 1_000_000 / max(1, ticks))
    }

    /// The CPU time of several processes together.
    public static func cpuTime(of pids: [Int32]) -> Duration {
        pids.compactMap { cpuTime(of: $0) }.reduce(.zero, +)
    }

    /// The processes whose parent is `pid`.
    public static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { child in
            guard let text = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8), let end = text.lastIndex(of: ")") else { return false }
            let fields = text[text.index(after: end)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }

    /// The 1, 5 and 15 minute load averages as /proc/loadavg prints them.
    public static var loadAverage: String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "? ? ?"
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    public static var cpuModel: String {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("model name") }
        return line.map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "?" } ?? "?"
    }

    public static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    public static var today: String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date())
    }
}

/// Number formatting for the tables.
enum Figures {
    static func micros(_ value: UInt64) -> String { String(value) }
    static func micros(_ value: Double) -> String { String(format: "%.0f", value) }
    static func millis(_ micros: UInt64) -> String { String(format: "%.2f", Double(micros) / 1000) }
    static func millis(_ micros: Double) -> String { String(format: "%.2f", micros / 1000) }
    static func seconds(_ value: Double) -> String { String(format: "%.2f", value) }
    static func rate(_ value: Double) -> String { value >= 100 ? String(format: "%.0f", value) : String(format: "%.1f", value) }
    static func megabytes(_ bytes: Int64?) -> String { bytes.map { String(format: "%.1f", Double($0) / 1_048_576) } ?? "?" }
    static func ratio(_ value: Double) -> String { String(format: "%.2f", value) }
}
