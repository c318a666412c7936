/// Everything one request's routing knows, and the one place where its next step is decided.
///
/// The shell (REST, gRPC, copy scaling, shutdown migration) and the simulator all drive it the
/// same way: ask ``next(record:view:local:now:using:)`` for an action, carry the action out, and
/// report how it went with ``record(_:)``; repeat until the action is to finish or to fail.
/// It keeps the peers excluded so far, the attempts made, the problems seen (for the error a
/// client finally gets), the deadline, and a revision to wait for when another peer saw a
/// newer cluster than this peer's view.
///
/// A request from a client (``Hop/external``) gets up to ``Settings/maxAttempts`` decisions;
/// a hop from a peer gets one decision plus the serve that follows a load, and any failure is
/// returned as a decline (``MeshError/decline``) for the sender to act on.
public struct RequestRoute: Sendable {
    /// What the request is for.
    public enum Goal: Sendable, Hashable {
        /// Serve it: from a copy here, through a hop to a holder, or after a load.
        case serve
        /// Add one copy of the model on a peer that holds none (copy scaling, minCopies,
        /// vmodel transitions, shutdown migration). Finished once the copy is claimed here or
        /// loaded there. `preferring`: try this peer first (a copy scaler's choice), then
        /// wherever placement says.
        case addCopy(preferring: PeerID?)
    }

    public struct Settings: Sendable {
        public var planner: RoutePlanner
        public var maxAttempts: Int
        /// The size a model is planned with when nothing better is known.
        public var defaultModelSizeBytes: Int64

        public init(planner: RoutePlanner = RoutePlanner(), maxAttempts: Int = MeshDefaults.maxAttempts,
                    defaultModelSizeBytes: Int64 = MeshDefaults.defaultModelSizeBytes) {
            self.planner = planner
            self.maxAttempts = maxAttempts
            self.defaultModelSizeBytes = defaultModelSizeBytes
        }
    }

    /// The next thing to do.
    public enum Action: Sendable, Hashable {
        /// Serve from this peer's copy, waiting for its load if it is loading.
        case serveHere
        /// Send the request to `peer` as a hop of this kind.
        case forward(PeerID, Hop)
        /// Claim a copy here (a compare-and-swap on the copies as of `decidedAt`) and load it.
        case loadHere(decidedAt: Int64)
        /// Another peer decided on a newer cluster: let the view reach `revision` first.
        case waitForView(revision: Int64)
        /// The goal is reached (``Goal/addCopy``: the copy was claimed here or loaded there).
        case finished(PeerID)
        /// Give up with this error (for a hop: the decline to answer with).
        case fail(MeshError)
    }

    /// How the last action went.
    public enum Outcome: Sendable, Hashable {
        /// This peer could not serve or load (``CopyFailure``).
        case local(CopyFailure)
        /// The claim here held and the load started.
        case loadStarted
        /// The peer answered that it did not serve (``HopDecline``).
        case declined(PeerID, HopDecline.Outcome, message: String, revision: Int64?)
        /// The peer could not be reached; `refused`: the connection was refused or never made.
        case unreachable(PeerID, reason: String, refused: Bool)
        /// A load-local hop of ``Goal/addCopy`` answered with the copy loaded.
        case copyAdded(PeerID)
        /// A load-local hop of ``Goal/addCopy`` answered with an error of its own.
        case peerFailed(PeerID, MeshError)
    }

    public let model: ModelID
    public let hop: Hop
    public let goal: Goal
    public let me: PeerID
    public let deadline: MeshTime?
    public let settings: Settings
    public private(set) var excluded: Set<PeerID>
    /// Excluded peers whose copy went away under the request (evicted, unloaded): they cannot
    /// serve it now, but they can load it again. When placement finds no peer left, they are
    /// eligible once more (each retry still spends an attempt), so a request that keeps meeting
    /// evictions under memory pressure reloads the model instead of giving up.
    private var copyGoneFrom: Set<PeerID> = []
    public private(set) var attempts = 0
    /// What went wrong so far, in order, for the error a client gets when every option is spent.
    public private(set) var problems: [String] = []
    private var waitFor: Int64?
    /// The view revision of the last decision (a decline carries it).
    private var decidedAt: Int64 = 0
    /// Set once the route is over: every later ``next`` returns it.
    public private(set) var conclusion: Action?
    /// Why routing gave up, when the planner said so (no copy can be placed, loads failed).
    public private(set) var routingFailure: RoutingFailure?

    public init(
        model: ModelID, hop: Hop = .external, goal: Goal = .serve, me: PeerID, excluded: Set<PeerID> = [],
        deadline: MeshTime?, settings: Settings
    ) {
        self.model = model
        self.hop = hop
        self.goal = goal
        self.me = me
        self.excluded = excluded
        self.deadline = deadline
        self.settings = settings
    }

    /// A hop from a peer gets one decision, plus the serve that follows a load.
    public var attemptLimit: Int { hop == .external ? settings.maxAttempts : 2 }

    // MARK: Deciding

    /// The next action. `record` is the model's registration (nil: not registered), `local`
    /// this peer's side, `now` the time on the clock the deadline was set on.
    public mutating func next(
        record: ModelRecord?, view: ClusterView, local: RoutePlanner.Local, now: MeshTime,
        using random: inout some RandomNumberGenerator
    ) -> Action {
        if let conclusion { return conclusion }
        let action = decide(record: record, view: view, local: local, now: now, using: &random)
        // A failure is final: asking again gives the same answer.
        if case .fail = action { conclusion = action }
        return action
    }

    private mutating func decide(
        record: ModelRecord?, view: ClusterView, local: RoutePlanner.Local, now: MeshTime,
        using random: inout some RandomNumberGenerator
    ) -> Action {
        if let revision = waitFor {
            waitFor = nil
            if revision > view.revision { return .waitForView(revision: revision) }
        }
        guard let record else {
            // To the sender of a hop, whose view may be ahead of this one or behind it.
            if hop != .external { return .fail(.declined(.unregistered, "model \(model) is not registered on \(me)", revision: view.revision)) }
            return .fail(.notFound("model \(model) is not registered"))
        }
        decidedAt = view.revision
        while attempts < attemptLimit {
            if let deadline, now >= deadline { break }
            attempts += 1
            switch goal {
            case .serve:
                if let action = serveStep(record: record, view: view, local: local, now: now, using: &random) { return action }
            case .addCopy:
                if let action = addCopyStep(record: record, view: view, now: now) { return action }
            }
        }
        return .fail(exhausted(now: now))
    }

    /// One routing decision; nil when it only excluded a peer and another decision is due.
    private mutating func serveStep(
        record: ModelRecord, view: ClusterView, local: RoutePlanner.Local, now: MeshTime,
        using random: inout some RandomNumberGenerator
    ) -> Action? {
        let request = RoutePlanner.Request(
            model: model, record: record, hop: hop, excluded: excluded,
            sizeBytes: ModelSize.planned(model, record: record, view: view, defaultBytes: settings.defaultModelSizeBytes)
        )
        switch settings.planner.decide(request, local: local, view: view, now: now, using: &random) {
        case .serveLocally:
            return .serveHere
        case .forward(let peer, let kind):
            guard view.peers[peer] != nil else {
                excluded.insert(peer)
                return nil
            }
            return .forward(peer, kind)
        case .loadLocally:
            return .loadHere(decidedAt: view.revision)
        case .notHere:
            return .fail(.declined(.notHere, "\(model) is not loaded on \(me)", revision: view.revision))
        case .fail(.cannotPlace(.noPeerLeft)) where hop == .external && !copyGoneFrom.isEmpty:
            readmitPeersWhoseCopyWentAway()
            return nil
        case .fail(let routingFailure):
            self.routingFailure = routingFailure
            if hop != .external { return .fail(.declined(.loadFailed, routingFailure.description, revision: view.revision)) }
            return .fail(.unavailable(routingFailure.description + tried(" (tried: ", ")")))
        }
    }

    /// One placement of a new copy on a peer that holds none.
    private mutating func addCopyStep(record: ModelRecord, view: ClusterView, now: MeshTime) -> Action? {
        if case .addCopy(let preferred?) = goal, attempts == 1, !excluded.contains(preferred),
           view.peers[preferred].map({ !$0.shuttingDown }) == true, view.copies(of: model)[preferred] == nil {
            return preferred == me ? .loadHere(decidedAt: view.revision) : .forward(preferred, .loadLocal)
        }
        let size = ModelSize.planned(model, record: record, view: view, defaultBytes: settings.defaultModelSizeBytes)
        switch settings.planner.placement.choose(for: model, record: record, sizeBytes: size, view: view, excluded: excluded, now: now) {
        case .peer(let peer) where peer == me:
            return .loadHere(decidedAt: view.revision)
        case .peer(let peer):
            guard view.peers[peer] != nil else {
                excluded.insert(peer)
                return nil
            }
            return .forward(peer, .loadLocal)
        case .none(.noPeerLeft) where !copyGoneFrom.isEmpty:
            readmitPeersWhoseCopyWentAway()
            return nil
        case .none(let refusal):
            routingFailure = .cannotPlace(refusal)
            return .fail(.unavailable(refusal.description + tried(" (tried: ", ")")))
        }
    }

    // MARK: Learning

    /// Takes in how the last action went.
    public mutating func record(_ outcome: Outcome) {
        switch outcome {
        case .loadStarted:
            if case .addCopy = goal { conclusion = .finished(me) }
        case .copyAdded(let peer):
            conclusion = .finished(peer)
        case .local(let copyFailure):
            recordLocal(copyFailure)
        case .declined(_, .unregistered, _, nil):
            // The decliner read the store when it claimed a copy: the model is gone.
            conclusion = .fail(.notFound("model \(model) is not registered"))
        case .declined(let peer, let outcome, let message, let revision):
            // An `unregistered` decline with a revision: if this view is behind it, the next
            // decision waits for the view and finds the model gone; if not, the decliner lags.
            excluded.insert(peer)
            if outcome == .notHere { copyGoneFrom.insert(peer) }
            if outcome != .notHere { problems.append("\(peer): \(message)") }
            if let revision { waitFor = max(waitFor ?? revision, revision) }
        case .unreachable(let peer, let reason, _):
            excluded.insert(peer)
            problems.append("peer \(peer) is not reachable (\(reason))")
        case .peerFailed(let peer, let error):
            if error.kind == .notFound {
                conclusion = .fail(error)
            } else {
                excluded.insert(peer)
                problems.append("\(peer): \(error.message)")
            }
        }
    }

    private mutating func recordLocal(_ copyFailure: CopyFailure) {
        switch copyFailure {
        case .unregistered:
            conclusion = .fail(hop != .external ? .declined(.unregistered, copyFailure.description, revision: nil)
                                                : .notFound("model \(model) is not registered"))
        case .lostRace(_, _, let revision):
            // Another peer's copy won: decide again once the view shows it (not an exclusion).
            if hop != .external {
                conclusion = .fail(.declined(.notHere, copyFailure.description, revision: revision))
            } else {
                waitFor = max(waitFor ?? revision, revision)
            }
        default:
            if hop != .external {
                conclusion = .fail(.declined(copyFailure.declineOutcome, copyFailure.description, revision: decidedAt))
            } else {
                excluded.insert(me)
                if case .removed = copyFailure { copyGoneFrom.insert(me) }
                problems.append(copyFailure.description)
            }
        }
    }

    /// The placement that found no peer was not an attempt; the declines that filled
    /// `copyGoneFrom` each spent one, so this cannot loop.
    private mutating func readmitPeersWhoseCopyWentAway() {
        excluded.subtract(copyGoneFrom)
        copyGoneFrom.removeAll()
        attempts -= 1
    }

    // MARK: Giving up

    private func exhausted(now: MeshTime) -> MeshError {
        if hop != .external {
            return .declined(.unavailable, problems.isEmpty ? "\(model) could not be served on \(me)" : problems.joined(separator: "; "))
        }
        if let deadline, now >= deadline {
            return .deadlineExceeded("the deadline passed before \(model) could be served" + tried(": ", ""))
        }
        switch goal {
        case .serve:
            return .unavailable("\(model) could not be served after \(attempts) attempts" + tried(": ", ""))
        case .addCopy:
            return .unavailable("no peer took a copy of \(model)" + tried(": ", ""))
        }
    }

    private func tried(_ prefix: String, _ suffix: String) -> String {
        problems.isEmpty ? "" : prefix + problems.joined(separator: "; ") + suffix
    }
}
