/// What a bearer token lets its holder do. `admin` includes everything `infer` may.
public enum AccessRole: String, Sendable, Hashable, CaseIterable {
    /// The data plane: inference, model metadata and readiness.
    case infer
    /// Management: models, vmodels, the model repository, peers and placement.
    case admin

    public func allows(_ needed: AccessRole) -> Bool {
        self == .admin || needed == .infer
    }
}

/// What a request needs: nothing (health probes), or a token with a role.
public enum RequiredAccess: Sendable, Hashable {
    case open
    case role(AccessRole)
}
