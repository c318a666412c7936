/// A Ready condition as kubectl shows one: can requests be served now, and why (not).
public struct ReadyCondition: Hashable, Sendable {
    /// `True` or `False`.
    public var status: String
    /// `Loaded`, `Standby` (loads on its first request), `Loading`, `Pending` (copies it must
    /// keep are not placed yet), `FailedToLoad`; for vmodels also `Transitioning` and `TransitionFailed`.
    public var reason: String

    public init(status: String, reason: String) {
        self.status = status
        self.reason = reason
    }

    public static func model(_ model: LiveModel) -> ReadyCondition {
        availability(model.status, minCopies: model.spec.minCopies)
    }

    /// A vmodel is as ready as its active model, which serves during a transition.
    public static func vmodel(_ vmodel: LiveVModel) -> ReadyCondition {
        var condition = availability(vmodel.activeModelStatus, minCopies: 0)
        if condition.status == "True" {
            if vmodel.status == "TRANSITIONING" { condition.reason = "Transitioning" }
            if vmodel.status == "TRANSITION_FAILED" { condition.reason = "TransitionFailed" }
        }
        return condition
    }

    static func availability(_ status: String, minCopies: Int) -> ReadyCondition {
        switch status {
        case "LOADED": return ReadyCondition(status: "True", reason: "Loaded")
        case "LOADING": return ReadyCondition(status: "False", reason: "Loading")
        case "LOADING_FAILED": return ReadyCondition(status: "False", reason: "FailedToLoad")
        default: return minCopies > 0 ? ReadyCondition(status: "False", reason: "Pending") : ReadyCondition(status: "True", reason: "Standby")
        }
    }
}
