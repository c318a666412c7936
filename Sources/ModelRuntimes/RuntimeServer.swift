import MeshCore

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

/// A runtime server answered that it does not hold a model the peer loaded there (it restarted
/// between checks, or someone unloaded it behind the peer's back): the copy is removed and the
/// request tried again, as ModelMesh does on NOT_FOUND mid-serve.
public struct ModelGoneFromRuntime: Error, CustomStringConvertible {
    public let model: ModelID
    public let description: String

    public init(model: ModelID, description: String) {
        self.model = model
        self.description = description
    }
}
