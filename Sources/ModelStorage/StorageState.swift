import MeshCore

/// Everything `ModelStorage` keeps in memory, behind one mutex: the cache index, the downloads
/// in flight with the fetches waiting for them, the start-up preparation, and counters.
/// Methods only change memory; continuations are returned and resumed outside the lock.
struct StorageState {
    var index: CacheIndex
    var statistics = StorageStatistics()
    private var flights: [String: Flight] = [:]
    private var preparation: Preparation = .notStarted
    private var nextWaiterID: UInt64 = 0

    init(index: CacheIndex) {
        self.index = index
    }

    // MARK: - Flights

    private struct Flight {
        var waiters: [UInt64: (model: ModelID, continuation: CheckedContinuation<FlightOutcome, Never>)] = [:]
    }

    /// Starts a flight for `key` (returns nil: the caller leads) or joins the running one
    /// (returns the caller's waiter id).
    mutating func joinFlight(_ key: String) -> UInt64? {
        guard flights[key] != nil else {
            flights[key] = Flight()
            return nil
        }
        nextWaiterID += 1
        return nextWaiterID
    }

    /// Parks a follower; returns an outcome instead when there is nothing to wait for.
    mutating func addWaiter(
        _ key: String, id: UInt64, model: ModelID,
        _ continuation: CheckedContinuation<FlightOutcome, Never>, isCancelled: Bool
    ) -> FlightOutcome? {
        if isCancelled { return .cancelled }
        guard flights[key] != nil else { return .retry }
        flights[key]!.waiters[id] = (model, continuation)
        return nil
    }

    mutating func removeWaiter(_ key: String, id: UInt64) -> CheckedContinuation<FlightOutcome, Never>? {
        flights[key]?.waiters.removeValue(forKey: id)?.continuation
    }

    /// Ends the flight. Followers share a success (and are marked as using the entry before any
    /// other fetch can evict it) or a failure; when the leader was cancelled they start over.
    mutating func finishFlight(
        _ key: String, _ result: Result<FetchedModel, StorageError>
    ) -> [(CheckedContinuation<FlightOutcome, Never>, FlightOutcome)] {
        guard let flight = flights.removeValue(forKey: key) else { return [] }
        return flight.waiters.values.map { waiter in
            switch result {
            case .success(let fetched):
                if let id = fetched.cacheEntryID, index.use(id, by: waiter.model) == nil {
                    return (waiter.continuation, .retry)
                }
                return (waiter.continuation, .finished(result))
            case .failure(let error) where error.reason == .cancelled:
                return (waiter.continuation, .retry)
            case .failure:
                return (waiter.continuation, .finished(result))
            }
        }
    }

    // MARK: - Preparation

    private enum Preparation {
        case notStarted
        case running([CheckedContinuation<Result<Void, StorageError>, Never>])
        case ready
    }

    mutating func beginPreparation() -> PreparationRole {
        switch preparation {
        case .ready: return .ready
        case .running: return .wait
        case .notStarted:
            preparation = .running([])
            return .run
        }
    }

    mutating func waitForPreparation(_ continuation: CheckedContinuation<Result<Void, StorageError>, Never>) -> Result<Void, StorageError>? {
        switch preparation {
        case .ready: return .success(())
        case .notStarted: return .failure(StorageError(.localIO, "preparing the model cache failed; it is retried on the next fetch"))
        case .running(var waiters):
            waiters.append(continuation)
            preparation = .running(waiters)
            return nil
        }
    }

    mutating func finishPreparation(_ result: Result<Void, StorageError>) -> [CheckedContinuation<Result<Void, StorageError>, Never>] {
        guard case .running(let waiters) = preparation else { return [] }
        switch result {
        case .success: preparation = .ready
        case .failure: preparation = .notStarted
        }
        return waiters
    }
}

enum FlightOutcome: Sendable {
    case finished(Result<FetchedModel, StorageError>)
    /// The download this fetch waited for is gone without a usable result; try again.
    case retry
    case cancelled
}

enum PreparationRole {
    case run, wait, ready
}
