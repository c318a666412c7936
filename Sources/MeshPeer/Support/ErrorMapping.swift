import MeshCore
import ModelStorage

extension MeshError {
    /// Any error the shell meets, as the mesh's one error type: the single place where library
    /// errors and the shell's own become what a client sees. `expected` is false for errors
    /// that mean a bug (the caller logs those).
    static func from(_ error: any Error) -> (error: MeshError, expected: Bool) {
        switch error {
        case let error as MeshError:
            return (error, true)
        case let failure as CopyFailure:
            return (.unavailable(failure.description), true)
        case let failure as StoreFailure:
            return (.unavailable("etcd is not available, try again later: \(failure)"), true)
        case let error as StorageError:
            return (MeshError(error.reason == .invalidLocation || error.reason == .pathEscapes ? .invalidArgument : .unavailable, error.message), true)
        case let error as PeerUnreachable:
            return (.unavailable(error.description), true)
        case is CancellationError:
            return (MeshError(.cancelled, "the call was cancelled"), true)
        default:
            return (.internalError("\(error)"), false)
        }
    }
}
