import Logging
import MeshCore

/// Who may do what: the policy that says which role a request needs, and the tokens that
/// grant roles. Without a tokens file every request is allowed, as on a loopback demo.
struct AccessControl: Sendable {
    let policy: AccessPolicy
    let tokens: BearerTokens?

    static let open = AccessControl(policy: AccessPolicy(), tokens: nil)

    var isEnforced: Bool { tokens != nil }

    /// The grant that allows a request needing `required` with `authorization`, nil when none
    /// is needed; 401 without a valid token, 403 with one whose role is not enough.
    func check(_ required: RequiredAccess, authorization: String?) throws(MeshError) -> BearerTokenTable.Grant? {
        guard let tokens, case .role(let needed) = required else { return nil }
        let grant = try tokens.grant(authorization: authorization)
        guard grant.role.allows(needed) else {
            throw .permissionDenied("'\(grant.principal)' has the \(grant.role.rawValue) role; this request needs \(needed.rawValue)")
        }
        return grant
    }

    /// Records a management action with who asked for it, whatever its outcome.
    func audit(_ action: String, grant: BearerTokenTable.Grant?, remoteHost: String?, outcome: String, logger: Logger) {
        logger.info("management action", metadata: [
            "action": "\(action)",
            "principal": "\(grant?.principal ?? (isEnforced ? "-" : "anonymous"))",
            "remote": "\(remoteHost ?? "-")",
            "outcome": "\(outcome)",
        ])
    }
}
