import AsyncHTTPClient
import Logging
import MeshCore
import Metrics
import Synchronization

/// Turns a model's storage location into a local file or directory that a runtime loads.
///
/// S3 and HTTP models are downloaded into a disk cache bounded in bytes and keyed by location
/// and version (ETag): a model whose objects have not changed is served from disk after one
/// listing, a changed one is downloaded again. Models on local volumes are read in place.
/// Concurrent fetches of one location share one download.
///
/// Each successful fetch marks the cache entry as used by the model until ``release(_:)``
/// (the peer calls it when it unloads the model) or the model's next fetch; entries in use are
/// never evicted.
public final class ModelStorage: Sendable {
    public let configuration: StorageConfigurationStore
    public let cacheDirectory: String
    public let limits: StorageLimits
    let httpClient: HTTPClient
    let logger: Logger
    let metrics: StorageMetrics
    let disk: DiskCache
    let state: Mutex<StorageState>

    /// - Parameters:
    ///   - httpClient: used for S3 storage; give it a read timeout (a stalled download waits
    ///     that long). HTTP storage runs on its event loops through clients of its own, which
    ///     connect only to addresses `limits.egress` allows and never follow redirects
    ///     themselves: ModelStorage follows them, checking each hop and dropping the entry's
    ///     headers on a change of origin.
    ///   - metricsFactory: where the metrics go; the process-wide factory by default.
    public init(
        configuration: StorageConfigurationStore,
        cacheDirectory: String,
        limits: StorageLimits = StorageLimits(),
        httpClient: HTTPClient = .shared,
        logger: Logger = Logger(label: "modelmesh.storage"),
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        let cacheDirectory = SourceResolver.trimmingTrailingSlashes(cacheDirectory)
        self.configuration = configuration
        self.cacheDirectory = cacheDirectory
        self.limits = limits
        self.httpClient = httpClient
        self.logger = logger
        self.metrics = StorageMetrics(factory: metricsFactory ?? MetricsSystem.factory)
        self.disk = DiskCache(root: cacheDirectory, logger: logger)
        self.state = Mutex(StorageState(index: CacheIndex(capacity: limits.maxCacheBytes)))
    }

    // MARK: - Public API

    /// The model's files on local disk: downloaded, found in the cache, or read in place.
    public func fetch(_ location: StorageLocation, for model: ModelID) async throws(StorageError) -> FetchedModel {
        do {
            try await prepare()
            let source = try SourceResolver(configuration: configuration.current, limits: limits).resolve(location)
            let fetched: FetchedModel
            if case .local(let local) = source {
                let limits = self.limits
                fetched = try await DiskCache.run { () throws -> FetchedModel in try LocalModels.resolve(local, limits: limits) }
                state.withLock { $0.statistics.localReads += 1 }
            } else {
                fetched = try await sharedFetch(source, for: model)
            }
            logger.debug("model files ready", metadata: [
                "model": "\(model)", "path": "\(fetched.path)", "bytes": "\(fetched.byteCount)", "fromCache": "\(fetched.fromCache)",
            ])
            return fetched
        } catch {
            state.withLock { $0.statistics.failures += 1 }
            metrics.failed(error.reason)
            logger.warning("model storage fetch failed", metadata: [
                "model": "\(model)", "location": "\(location)", "reason": "\(error.reason.rawValue)", "error": "\(error.message)",
            ])
            throw error
        }
    }

    /// Ends `model`'s use of its cache entry, which may then be evicted when space is needed.
    public func release(_ model: ModelID) {
        state.withLock { $0.index.release(model) }
    }

    public var statistics: StorageStatistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.cachedModels = state.index.entries.count
            statistics.cachedBytes = state.index.usedBytes
            statistics.entriesInUse = Set(state.index.pins.values).count
            return statistics
        }
    }

    /// Creates the cache directory, deletes what interrupted downloads left, and reads the
    /// cache's index from disk. ``fetch(_:for:)`` calls it once; call it at start-up to do the
    /// work (and see its errors) before the first model arrives.
    public func prepare() async throws(StorageError) {
        let role: PreparationRole = state.withLock { $0.beginPreparation() }
        switch role {
        case .ready:
            return
        case .wait:
            let result = await withCheckedContinuation { continuation in
                let immediate = state.withLock { $0.waitForPreparation(continuation) }
                if let immediate { continuation.resume(returning: immediate) }
            }
            try result.get()
        case .run:
            let result: Result<Void, StorageError>
            do {
                let disk = self.disk
                let entries = try await DiskCache.run { try disk.recover() }
                let evicted = state.withLock { state in
                    for entry in entries { state.index.restore(entry) }
                    // A smaller limit than last time: trim the cache now.
                    if case .granted(let victims) = state.index.reserve(0) { return victims }
                    return []
                }
                try await removeFromDisk(evicted)
                logger.info("model cache ready", metadata: [
                    "directory": "\(cacheDirectory)", "models": "\(entries.count - evicted.count)",
                    "bytes": "\(state.withLock { $0.index.usedBytes })",
                ])
                result = .success(())
            } catch {
                result = .failure(error)
            }
            let waiters = state.withLock { $0.finishPreparation(result) }
            for waiter in waiters { waiter.resume(returning: result) }
            try result.get()
        }
    }

    // MARK: - One download per location

    private func sharedFetch(_ source: ResolvedSource, for model: ModelID) async throws(StorageError) -> FetchedModel {
        let key = source.flightKey
        while true {
            let waiterID: UInt64? = state.withLock { $0.joinFlight(key) }
            guard let waiterID else {
                // Leading: download, then hand the outcome to everyone who waited.
                let result: Result<FetchedModel, StorageError>
                do {
                    result = .success(try await lead(source, for: model))
                } catch {
                    result = .failure(error)
                }
                let waiters = state.withLock { $0.finishFlight(key, result) }
                for (continuation, outcome) in waiters { continuation.resume(returning: outcome) }
                return try result.get()
            }
            switch await follow(key, waiterID: waiterID, model: model) {
            case .finished(let result): return try result.get()
            case .retry: continue
            case .cancelled: throw .cancelledError()
            }
        }
    }

    private func follow(_ key: String, waiterID: UInt64, model: ModelID) async -> FlightOutcome {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate = state.withLock { state in
                    state.addWaiter(key, id: waiterID, model: model, continuation, isCancelled: Task.isCancelled)
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let continuation = state.withLock { $0.removeWaiter(key, id: waiterID) }
            continuation?.resume(returning: .cancelled)
        }
    }

    /// The cache keys on where the bytes live, not on whose credentials read them; S3 locations
    /// key on their listing (`S3ModelPlan.cacheIdentity`), HTTP ones on the URL.
    private func lead(_ source: ResolvedSource, for model: ModelID) async throws(StorageError) -> FetchedModel {
        switch source {
        case .s3(let s3): return try await fetchFromS3(s3, for: model)
        case .http(let http): return try await fetchFromHTTP(http, identity: "http\n\(http.url)", for: model)
        case .local: preconditionFailure("local models are read in place")
        }
    }
}
