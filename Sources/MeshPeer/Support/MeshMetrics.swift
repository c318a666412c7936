import CoreMetrics
import MeshCore
import Synchronization

/// The peer's metrics, named after ModelMesh's where one exists so dashboards carry over.
///
/// Per-model labels are bounded: the first ``maxLabelledModels`` models get their own label and
/// the rest share `_other`, so a registry of a million models cannot explode the series count.
public final class MeshMetrics: Sendable {
    public let perModel: Bool
    public let maxLabelledModels: Int
    private let labelled = Mutex<Set<ModelID>>([])

    let capacityBytes = Gauge(label: "modelmesh_instance_capacity_bytes")
    let usedBytes = Gauge(label: "modelmesh_instance_used_bytes")
    let modelsLoaded = Gauge(label: "modelmesh_instance_models_total")
    let lruAgeSeconds = Gauge(label: "modelmesh_instance_lru_age_seconds")
    let inFlight = Gauge(label: "modelmesh_instance_inflight_requests")
    let thrashEvictions = Gauge(label: "modelmesh_thrash_evictions_per_minute")
    let thrashMissingBytes = Gauge(label: "modelmesh_thrash_missing_capacity_bytes")
    let gossipReportAge = Gauge(label: "modelmesh_gossip_report_age_seconds")
    let gossipReportsMissing = Gauge(label: "modelmesh_gossip_reports_missing")
    /// The `modelmesh_model_copies` series last reported: a model that lost its last copy (or
    /// its last loading one) has its series removed, so only models with copies are exported.
    private let copySeries = Mutex<Set<CopySeries>>([])
    // The metrics every request touches, kept rather than asked of the factory each time.
    private let channelRequests = Counter(label: "modelmesh_rest_channel_requests_total")
    private let channelHops = Counter(label: "modelmesh_rest_channel_hops_total")
    private let channelRelays = Counter(label: "modelmesh_rest_channel_runtime_relays_total")
    private let streamRequests = Counter(label: "modelmesh_grpc_stream_requests_total")
    private let streamHops = Counter(label: "modelmesh_grpc_stream_hops_total")
    private let requestHandles = MetricHandles<RequestSeries, (Recorder, Counter)>()
    private let invokeRecorders = MetricHandles<String, Recorder>()
    private let forwardedCounters = MetricHandles<ForwardSeries, Counter>()

    private struct RequestSeries: Hashable, Sendable {
        var route: String
        var handling: String
        var code: String
        var model: String?
    }

    private struct ForwardSeries: Hashable, Sendable {
        var hop: Hop
        var outcome: String
    }

    private struct CopySeries: Hashable, Sendable {
        var model: String
        var state: String
        var dimensions: [(String, String)] { [("modelId", model), ("state", state)] }
    }

    public init(perModel: Bool = true, maxLabelledModels: Int = 1000) {
        self.perModel = perModel
        self.maxLabelledModels = maxLabelledModels
    }

    /// The label value for `model`.
    func label(_ model: ModelID) -> String {
        guard perModel else { return "_all" }
        return labelled.withLock { set in
            if set.contains(model) { return model.rawValue }
            if set.count < maxLabelledModels {
                set.insert(model)
                return model.rawValue
            }
            return "_other"
        }
    }

    /// One client-facing request: `route` (infer, metadata, ...), how it was handled (`local`,
    /// `forwarded`), and the HTTP or gRPC code.
    func request(route: String, model: ModelID?, handling: String, code: String, duration: Duration) {
        let series = RequestSeries(route: route, handling: handling, code: code, model: model.map(label))
        let (recorder, counter) = requestHandles.handle(for: series) {
            var dimensions = [("method", route), ("handling", handling), ("code", code)]
            if let model = series.model { dimensions.append(("modelId", model)) }
            return (Recorder(label: "modelmesh_api_request_milliseconds", dimensions: dimensions, aggregate: true),
                    Counter(label: "modelmesh_api_request_total", dimensions: dimensions))
        }
        recorder.record(Double(duration.milliseconds))
        counter.increment()
    }

    /// A REST inference request answered on its channel (``InferFastPath``), not by the router.
    func answeredOnChannel() {
        channelRequests.increment()
    }

    /// A REST inference request of a client whose first hop left from its channel, with no task
    /// (``PeerNode/answerAtOnce(_:body:on:then:)``).
    func hoppedFromChannel() {
        channelHops.increment()
    }

    /// A REST inference request of a client relayed from its channel, with no task, to the
    /// runtime server holding the model here.
    func relayedFromChannel() {
        channelRelays.increment()
    }

    /// A client's gRPC `ModelInfer` call whose first hop left from its HTTP/2 stream, with no
    /// task (``PeerNode/answerGRPCInferAtOnce(metadata:message:on:then:)``).
    func hoppedFromGRPCStream() {
        streamHops.increment()
    }

    /// A gRPC `ModelInfer` call answered on its HTTP/2 stream (``GRPCInferFastPath``), not by
    /// grpc-swift's server.
    func answeredOnGRPCStream() {
        streamRequests.increment()
    }

    func invoke(model: ModelID, duration: Duration) {
        let model = label(model)
        invokeRecorders.handle(for: model) {
            Recorder(label: "modelmesh_invoke_model_milliseconds", dimensions: [("modelId", model)], aggregate: true)
        }.record(duration.seconds * 1000)
    }

    func forwarded(hop: Hop, outcome: String) {
        forwardedCounters.handle(for: ForwardSeries(hop: hop, outcome: outcome)) {
            Counter(label: "modelmesh_forwarded_requests_total", dimensions: [("hop", hop.rawValue), ("outcome", outcome)])
        }.increment()
    }

    func cacheMiss(model: ModelID, waited: Duration) {
        Recorder(label: "modelmesh_cache_miss_milliseconds", dimensions: [("modelId", label(model))], aggregate: true)
            .record(Double(waited.milliseconds))
    }

    func loaded(model: ModelID, duration: Duration, sizeBytes: Int64) {
        Recorder(label: "modelmesh_loadmodel_milliseconds", dimensions: [("modelId", label(model))], aggregate: true)
            .record(Double(duration.milliseconds))
        Recorder(label: "modelmesh_loaded_model_size_bytes", aggregate: true).record(sizeBytes)
        Counter(label: "modelmesh_loadmodel_total").increment()
    }

    func loadFailed(model: ModelID) {
        Counter(label: "modelmesh_loadmodel_failure", dimensions: [("modelId", label(model))]).increment()
    }

    func unloaded(model: ModelID, duration: Duration) {
        Recorder(label: "modelmesh_unloadmodel_milliseconds", aggregate: true).record(Double(duration.milliseconds))
    }

    func evicted(model: ModelID, idle: Duration, young: Bool) {
        Counter(label: "modelmesh_model_evicted").increment()
        if young { Counter(label: "modelmesh_model_evicted_recently_used_total").increment() }
        Recorder(label: "modelmesh_age_at_eviction_milliseconds", aggregate: true).record(Double(idle.milliseconds))
    }

    /// A load that waited for room (or gave up waiting).
    func roomWait(model: ModelID, waited: Duration, gotRoom: Bool) {
        Recorder(label: "modelmesh_load_room_wait_milliseconds", dimensions: [("outcome", gotRoom ? "room" : "gave_up")], aggregate: true)
            .record(Double(waited.milliseconds))
    }

    /// Evictions of recently used models in the last minute, and the memory that would end them.
    func thrashing(evictionsPerMinute: Int, missingBytes: Int64) {
        thrashEvictions.record(evictionsPerMinute)
        thrashMissingBytes.record(missingBytes)
    }

    func memory(capacity: Int64, used: Int64, models: Int, lruAge: Duration?) {
        capacityBytes.record(capacity)
        usedBytes.record(used)
        modelsLoaded.record(models)
        lruAgeSeconds.record(lruAge?.seconds ?? 0)
    }

    /// Each runtime pool's budget and use, and whether its runtime server is ready (1) or not (0).
    func pools(_ budgets: [String: LocalCache.Budget], ready: [String: Bool]) {
        for (pool, budget) in budgets {
            Gauge(label: "modelmesh_runtime_pool_capacity_bytes", dimensions: [("pool", pool)]).record(budget.capacityBytes)
            Gauge(label: "modelmesh_runtime_pool_used_bytes", dimensions: [("pool", pool)]).record(budget.usedBytes)
            Gauge(label: "modelmesh_runtime_pool_ready", dimensions: [("pool", pool)]).record((ready[pool] ?? true) ? 1 : 0)
        }
    }

    /// What this peer's view says of the cluster, every gossip round: the copies of each model by
    /// state (every peer sees the same copies, so dashboards take the max over peers), and how
    /// old the freshest report of the least recently heard other peer is, with the registered
    /// peers this one holds no live report from.
    func cluster(_ view: ClusterView, me: PeerID, now: MeshTime) {
        var counts: [CopySeries: Int] = [:]
        for (model, holders) in view.copies {
            let name = label(model)
            for copy in holders.values { counts[CopySeries(model: name, state: copy.state.rawValue), default: 0] += 1 }
        }
        let gone = copySeries.withLock { reported in
            defer { reported = Set(counts.keys) }
            return reported.subtracting(counts.keys)
        }
        for series in gone { Gauge(label: "modelmesh_model_copies", dimensions: series.dimensions).destroy() }
        for (series, count) in counts { Gauge(label: "modelmesh_model_copies", dimensions: series.dimensions).record(count) }

        var oldest: Duration = .zero
        var missing = 0
        for peer in view.peers.keys where peer != me {
            if let report = view.loads[peer] { oldest = max(oldest, now - report.time) } else { missing += 1 }
        }
        gossipReportAge.record(oldest.seconds)
        gossipReportsMissing.record(missing)
    }
}
