/// A runtime that runs in a server of its own beside the peer (a sidecar container): it can
/// stop and come back, and loses every model it held when it does.
public protocol RuntimeServer: ModelRuntime {
    /// Watches the server until the task is cancelled: waits until it is ready (purging every
    /// model it holds, since this peer knows of none), reports ``RuntimeServerEvent/ready(capacityBytes:)``,
    /// then reports ``RuntimeServerEvent/lost(_:)`` when it stops answering, and starts over.
    func supervise(_ report: @escaping @Sendable (RuntimeServerEvent) async -> Void) async
}

public enum RuntimeServerEvent: Sendable, Hashable {
    /// Ready to load; its pool's budget (which the server may have reported itself).
    case ready(capacityBytes: Int64)
    /// It stopped answering: every model it held is gone.
    case lost(String)
}
