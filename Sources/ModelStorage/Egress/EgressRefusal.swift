/// Why the egress policy refused a connection, and the message that tells the user what to do.
struct EgressRefusal: Sendable, Equatable {
    enum Cause: Sendable, Equatable {
        /// The peer's own listening port on one of its addresses: never allowed.
        case ownEndpoint
        /// Named by the policy's deny-list.
        case deniedByRule(EgressRule)
        /// A cloud metadata service's host name.
        case metadataName
        /// An address of a refused class.
        case addressClass(AddressClass)
    }

    let host: String
    let port: Int
    /// The refused address; nil when the host was refused by name, before resolution.
    let address: IPAddress?
    let cause: Cause

    /// `subject` starts the sentence and ends where a verb follows: `HTTP storage http://…` or
    /// `HTTP storage http://a/… redirected to http://b/…, which`.
    func error(subject: String, allowSetting: String) -> StorageError {
        let isLiteral = IPAddress(host) != nil
        let verb = isLiteral ? "is at" : "resolves to"
        switch cause {
        case .ownEndpoint:
            let endpoint = address.map { "\(verb) \($0.withPort(port))" } ?? "names \(host):\(port)"
            return StorageError(.egressDenied, "\(subject) \(endpoint), this peer's own listening port; a peer never fetches models from itself, and no setting allows it")
        case .deniedByRule(let rule):
            let endpoint = address.map { "\(verb) \($0.withPort(port))" } ?? "names \(host):\(port)"
            return StorageError(.egressDenied, "\(subject) \(endpoint), which this peer's storage egress deny-list refuses ('\(rule)'); models are never fetched from there")
        case .metadataName:
            return StorageError(.egressDenied, "\(subject) names '\(host)', a cloud metadata service, which HTTP storage may not reach; if it really serves models, add '\(host)' to \(allowSetting)")
        case .addressClass(let kind):
            let why = kind == .privateNetwork ? "which this peer refuses (it refuses private networks)" : "which HTTP storage may not reach by default"
            let suggestion: String
            if let address, isLiteral {
                suggestion = "'\(address)' (or '\(address.withPort(port))' for this port only)"
            } else {
                suggestion = "'\(host)' or '\(address.map(String.init(describing:)) ?? host)'"
            }
            let article = kind == .unspecified ? "an" : "a"
            let whereItGoes = address.map { "\(verb) \($0)" } ?? "names '\(host)'"
            return StorageError(.egressDenied, "\(subject) \(whereItGoes), \(article) \(kind) address, \(why); if it really serves models, add \(suggestion) to \(allowSetting)")
        }
    }
}
