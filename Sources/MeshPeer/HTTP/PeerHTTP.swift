import AsyncHTTPClient
import MeshCore

/// An HTTP client for other peers' REST ports, and the scheme they serve: `https` when the
/// mesh runs TLS (every peer of a StatefulSet is configured alike), else `http`.
struct PeerHTTP: Sendable {
    let client: HTTPClient
    let scheme: String

    func url(_ record: PeerRecord, _ path: String) -> String {
        "\(scheme)://\(record.httpAddress)\(path)"
    }
}
