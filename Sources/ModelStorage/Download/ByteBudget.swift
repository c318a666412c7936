import Synchronization

/// The bytes one model may take, shared by the parallel downloads of its files, so the limit
/// stops the download as soon as it is crossed rather than after the last file.
final class ByteBudget: Sendable {
    let limit: Int64
    let modelDescription: String
    private let used = Atomic<Int64>(0)

    init(limit: Int64, modelDescription: String) {
        self.limit = limit
        self.modelDescription = modelDescription
    }

    var total: Int64 { used.load(ordering: .relaxed) }

    func consume(_ count: Int64) throws(StorageError) {
        let now = used.wrappingAdd(count, ordering: .relaxed).newValue
        if now > limit { throw Self.tooLarge(modelDescription, limit: limit, seen: now) }
    }

    func refund(_ count: Int64) {
        used.wrappingSubtract(count, ordering: .relaxed)
    }

    static func tooLarge(_ model: String, limit: Int64, seen: Int64) -> StorageError {
        StorageError(.tooLarge, "\(model) is larger than the maximum model size of \(limit) bytes (at least \(seen) bytes); the download was stopped. Raise the peer's maximum model size if the model is meant to be this big.")
    }
}
