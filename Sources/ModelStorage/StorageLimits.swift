/// The peer's bounds and safety rules for model storage.
public struct StorageLimits: Sendable {
    /// The disk cache's size; least recently used models not in use are evicted to stay under it.
    public var maxCacheBytes: Int64
    /// The largest model (all its files together); a download stops as soon as it crosses it.
    public var maxModelBytes: Int64
    /// The most files a directory model may have.
    public var maxFilesPerModel: Int
    /// Hosts HTTP storage may fetch from: exact names, or `*.example.com` for any subdomain.
    /// `nil` allows every host. The addresses they resolve to must pass ``egress`` too.
    public var allowedHTTPHosts: [String]?
    /// Which addresses HTTP storage may connect to: by default not loopback, link-local, cloud
    /// metadata or the peer's own ports (see ``EgressPolicy``).
    public var egress: EgressPolicy
    /// Directories local models may be read from (PVC mounts, for example). A relative path in a
    /// location is resolved under the first; `file://` paths must lie under one of them.
    public var localRoots: [String]
    /// Files of one directory model downloaded at the same time.
    public var downloadConcurrency: Int
    /// Time until a response's head arrives. A stalled body is bounded by the HTTP client's read
    /// timeout for S3, and by this same time for HTTP storage.
    public var requestTimeout: Duration
    public var retry: RetryPolicy

    public init(
        maxCacheBytes: Int64 = 20 << 30,
        maxModelBytes: Int64 = 8 << 30,
        maxFilesPerModel: Int = 10_000,
        allowedHTTPHosts: [String]? = nil,
        egress: EgressPolicy = EgressPolicy(),
        localRoots: [String] = [],
        downloadConcurrency: Int = 4,
        requestTimeout: Duration = .seconds(30),
        retry: RetryPolicy = RetryPolicy()
    ) {
        self.maxCacheBytes = maxCacheBytes
        self.maxModelBytes = maxModelBytes
        self.maxFilesPerModel = maxFilesPerModel
        self.allowedHTTPHosts = allowedHTTPHosts
        self.egress = egress
        self.localRoots = localRoots
        self.downloadConcurrency = max(1, downloadConcurrency)
        self.requestTimeout = requestTimeout
        self.retry = retry
    }

    func isHTTPHostAllowed(_ host: String) -> Bool {
        guard let allowedHTTPHosts else { return true }
        let host = host.lowercased()
        return allowedHTTPHosts.contains { pattern in
            let pattern = pattern.lowercased()
            if pattern.hasPrefix("*.") { return host.hasSuffix(pattern.dropFirst()) }
            return host == pattern
        }
    }
}
