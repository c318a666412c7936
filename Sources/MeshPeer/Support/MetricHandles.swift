import Synchronization

/// Metric handles by the dimensions they were made with. Making a handle asks the metrics
/// factory (a lock, a lookup and label checks), which is too much for every request; the number
/// of series is bounded by the labels (``MeshMetrics/maxLabelledModels`` and fixed names).
final class MetricHandles<Series: Hashable & Sendable, Handle: Sendable>: Sendable {
    private let handles = Mutex<[Series: Handle]>([:])

    /// The handle of `series`, made by `make` the first time.
    func handle(for series: Series, make: () -> Handle) -> Handle {
        handles.withLock { handles in
            if let handle = handles[series] { return handle }
            let handle = make()
            handles[series] = handle
            return handle
        }
    }
}
