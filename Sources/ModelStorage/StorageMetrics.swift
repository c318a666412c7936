import Metrics

/// The storage's metrics, through swift-metrics; the peer bootstraps the Prometheus backend.
struct StorageMetrics: Sendable {
    let factory: any MetricsFactory

    func downloaded(storageType: String, bytes: Int64, duration: Duration) {
        Counter(label: "modelmesh_storage_downloads_total", dimensions: [("storage", storageType)], factory: factory).increment()
        Counter(label: "modelmesh_storage_download_bytes_total", dimensions: [("storage", storageType)], factory: factory)
            .increment(by: Int(clamping: bytes))
        Timer(label: "modelmesh_storage_download_seconds", dimensions: [("storage", storageType)], factory: factory)
            .record(duration: duration)
    }

    func cacheHit(storageType: String) {
        Counter(label: "modelmesh_storage_cache_hits_total", dimensions: [("storage", storageType)], factory: factory).increment()
    }

    func failed(_ reason: StorageError.Reason) {
        Counter(label: "modelmesh_storage_failures_total", dimensions: [("reason", reason.rawValue)], factory: factory).increment()
    }

    func evicted(count: Int) {
        guard count > 0 else { return }
        Counter(label: "modelmesh_storage_cache_evictions_total", factory: factory).increment(by: count)
    }

    func cacheSize(bytes: Int64) {
        Gauge(label: "modelmesh_storage_cache_bytes", factory: factory).record(bytes)
    }
}
