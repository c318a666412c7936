/// How available a model is across the mesh, as status reports (REST, gRPC, the repository
/// index) name it.
public enum ModelAvailability: String, Sendable, Hashable, Codable {
    /// At least one copy is loaded.
    case loaded = "LOADED"
    /// Copies exist, none loaded yet.
    case loading = "LOADING"
    /// No copy; loads on first use.
    case notLoaded = "NOT_LOADED"
    /// No copy, and loads failed recently.
    case loadingFailed = "LOADING_FAILED"

    public init(copies: some Collection<CopyRecord>, recentFailures: Int) {
        if copies.contains(where: { $0.state == .loaded }) {
            self = .loaded
        } else if !copies.isEmpty {
            self = .loading
        } else {
            self = recentFailures > 0 ? .loadingFailed : .notLoaded
        }
    }

    /// As the view shows `model`.
    public init(_ model: ModelID, in view: ClusterView) {
        self.init(copies: view.copies(of: model).values, recentFailures: view.failures(of: model).count)
    }

    /// The Open Inference repository index's state: `READY`, `LOADING` or `UNAVAILABLE`.
    public var repositoryState: String {
        switch self {
        case .loaded: return "READY"
        case .loading: return "LOADING"
        case .notLoaded, .loadingFailed: return "UNAVAILABLE"
        }
    }
}
