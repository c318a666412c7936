import CFuzzerDriver
import FuzzTargets

#if canImport(Glibc)
import Glibc
#endif

/// Hands control to libFuzzer with the process's arguments (corpus directories, -max_total_time
/// and the other libFuzzer flags) and exits with its status.
public enum FuzzDriver {
    public typealias Callback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    public static func run(_ callback: Callback) -> Never {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
    }

    /// One input through `target`. libFuzzer reports a trap or a sanitizer error as a crash.
    public static func call(_ target: FuzzTarget, _ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        _ = target.run(input)
        return 0
    }
}
