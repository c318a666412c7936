/// What a load run does: where requests go, how they are paced, and for how long.
public struct LoadOptions: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        /// Requests start at a fixed rate whatever the answers do (latency counts from the
        /// scheduled start, so a stalled server cannot hide its queue: no coordinated omission).
        case openLoop(requestsPerSecond: Double)
        /// A fixed number of requests in flight: each worker sends the next when one returns.
        case closedLoop(concurrency: Int)
    }

    public enum Pick: String, Sendable, Equatable, CaseIterable {
        /// Targets (peer, model) in turn: every model gets the same share.
        case roundRobin = "round-robin"
        /// A uniformly random target per request.
        case random
    }

    /// Base URLs of the peers (or proxies), e.g. `http://127.0.0.1:8008` for REST or
    /// `grpc://127.0.0.1:8033` for the gRPC inference service.
    public var targets: [String]
    public var models: [String]
    public var mode: Mode
    /// How long to measure; nil with `maxRequests` set: until that many requests completed.
    public var duration: Duration?
    /// Stop after this many measured requests.
    public var maxRequests: Int?
    /// Requests sent before measuring starts (connections opened, models loaded, caches warm).
    public var warmup: Duration
    /// FP32 elements in the request tensor.
    public var tensorElements: Int
    /// The tensor's shape (nil: one dimension of `tensorElements`); a model that wants rows of
    /// features (scikit-learn's) takes `[rows, features]`.
    public var tensorShape: [Int]?
    /// Send the tensor with the binary extension instead of JSON (REST; gRPC always sends raw contents).
    public var binary: Bool
    public var pick: Pick
    public var requestTimeout: Duration
    /// A response header whose distinct values are reported with the time each was first seen
    /// (`mm-served-by`: when did a new copy start serving).
    public var trackHeader: String?

    public init(targets: [String], models: [String], mode: Mode, duration: Duration? = .seconds(10), maxRequests: Int? = nil,
                warmup: Duration = .zero, tensorElements: Int = 4, binary: Bool = false, pick: Pick = .roundRobin,
                requestTimeout: Duration = .seconds(30), trackHeader: String? = nil) {
        self.targets = targets
        self.models = models
        self.mode = mode
        self.duration = duration
        self.maxRequests = maxRequests
        self.warmup = warmup
        self.tensorElements = tensorElements
        self.binary = binary
        self.pick = pick
        self.requestTimeout = requestTimeout
        self.trackHeader = trackHeader
    }

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Throws a message that names the option to fix.
    public func validate() throws(Invalid) {
        guard !targets.isEmpty else { throw Invalid("give at least one --target URL") }
        for target in targets {
            if target.hasPrefix("grpc://") {
                guard GRPCTarget(target) != nil else { throw Invalid("--target \(target) is not grpc://host:port") }
            } else if !(target.hasPrefix("http://") || target.hasPrefix("https://")) {
                throw Invalid("--target \(target) is not an http://, https:// or grpc:// URL")
            }
        }
        guard !models.isEmpty else { throw Invalid("give at least one --model") }
        for model in models where model.isEmpty || model.contains("/") || model.contains(" ") {
            throw Invalid("--model \"\(model)\" is not a model id")
        }
        switch mode {
        case .openLoop(let rate):
            guard rate > 0, rate.isFinite else { throw Invalid("--rate must be a positive number of requests per second") }
        case .closedLoop(let concurrency):
            guard concurrency >= 1 else { throw Invalid("--concurrency must be at least 1") }
        }
        guard duration != nil || maxRequests != nil else { throw Invalid("give --duration or --requests") }
        if let duration, duration <= .zero { throw Invalid("--duration must be positive") }
        if let maxRequests, maxRequests < 1 { throw Invalid("--requests must be at least 1") }
        if case .openLoop = mode, duration == nil { throw Invalid("an open loop needs --duration") }
        guard warmup >= .zero else { throw Invalid("--warmup must not be negative") }
        guard tensorElements >= 1 else { throw Invalid("--elements must be at least 1") }
        guard requestTimeout > .zero else { throw Invalid("--timeout must be positive") }
    }
}
