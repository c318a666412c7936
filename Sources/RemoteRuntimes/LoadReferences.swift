import MeshCore

/// Loads and unloads of a ModelMesh runtime, counted per model id as ModelMesh counts them: a
/// copy evicted and loaded again while its unload is still being retried keeps the model the
/// runtime holds instead of unloading and loading it again; two loads of one id share one
/// `loadModel`; an id whose unload never succeeded is refused from then on (its memory in the
/// runtime is lost).
actor LoadReferences {
    enum Phase: Equatable {
        case loading
        case loaded(sizeBytes: Int64)
        /// `attempting`: an `unloadModel` call is in flight; otherwise waiting to retry.
        case unloading(attempting: Bool, sizeBytes: Int64)
        case lost
    }

    struct Entry {
        var count = 0
        var phase: Phase
    }

    enum LoadStep: Equatable {
        /// Call `loadModel`, then report with ``loadFinished(_:sizeBytes:)``.
        case load
        /// The runtime holds it already.
        case reuse(sizeBytes: Int64)
        /// Its unload failed for good; the runtime may still hold it.
        case lost
    }

    enum RetryStep: Equatable {
        case retry, stop
    }

    private var entries: [ModelID: Entry] = [:]
    private var waiters: [ModelID: [CheckedContinuation<Void, Never>]] = [:]

    func beginLoad(_ model: ModelID) async -> LoadStep {
        while true {
            guard var entry = entries[model] else {
                entries[model] = Entry(count: 1, phase: .loading)
                return .load
            }
            switch entry.phase {
            case .loading, .unloading(attempting: true, _):
                // Settles with the call in flight.
                await withCheckedContinuation { waiters[model, default: []].append($0) }
                continue
            case .loaded(let size):
                entry.count += 1
                entries[model] = entry
                return .reuse(sizeBytes: size)
            case .unloading(attempting: false, let size):
                // Between unload retries: the runtime still holds it.
                entry.count = 1
                entry.phase = .loaded(sizeBytes: size)
                entries[model] = entry
                return .reuse(sizeBytes: size)
            case .lost:
                return .lost
            }
        }
    }

    /// `sizeBytes` nil: the load failed (and its cleanup unload is the caller's).
    func loadFinished(_ model: ModelID, sizeBytes: Int64?) {
        guard var entry = entries[model], entry.phase == .loading else { return }
        if let sizeBytes {
            entry.phase = .loaded(sizeBytes: sizeBytes)
            entries[model] = entry
        } else {
            entry.count -= 1
            entries[model] = entry.count > 0 ? entry : nil
        }
        wake(model)
    }

    /// One user let go; true when it was the last and `unloadModel` is to be called.
    func beginUnload(_ model: ModelID) -> Bool {
        guard var entry = entries[model], case .loaded(let size) = entry.phase else { return false }
        entry.count -= 1
        if entry.count > 0 {
            entries[model] = entry
            return false
        }
        entry.phase = .unloading(attempting: true, sizeBytes: size)
        entries[model] = entry
        return true
    }

    /// The `unloadModel` call finished.
    func unloadAttempted(_ model: ModelID, succeeded: Bool) -> RetryStep {
        guard var entry = entries[model], case .unloading(attempting: true, let size) = entry.phase else { return .stop }
        if succeeded {
            entries[model] = nil
            wake(model)
            return .stop
        }
        entry.phase = .unloading(attempting: false, sizeBytes: size)
        entries[model] = entry
        wake(model)
        return .retry
    }

    /// Before the next retry: false when a load took the model back meanwhile.
    func retryUnload(_ model: ModelID) -> Bool {
        guard var entry = entries[model], case .unloading(attempting: false, let size) = entry.phase, entry.count == 0 else { return false }
        entry.phase = .unloading(attempting: true, sizeBytes: size)
        entries[model] = entry
        return true
    }

    func gaveUp(_ model: ModelID) {
        guard var entry = entries[model], case .unloading = entry.phase else { return }
        entry.phase = .lost
        entries[model] = entry
        wake(model)
    }

    /// The runtime restarted or was purged: it holds nothing, and nothing here is lost any more.
    func reset() {
        entries = [:]
        for model in Array(waiters.keys) { wake(model) }
    }

    func phase(of model: ModelID) -> Phase? { entries[model]?.phase }

    private func wake(_ model: ModelID) {
        for waiter in waiters.removeValue(forKey: model) ?? [] { waiter.resume() }
    }
}
