import Foundation
import MeshTestSupport

/// Registers models through a peer's /v1 API, as a client would.
enum BenchModels {
    static func register(_ id: String, file: String, labels: [String] = [], sizeHintBytes: Int64? = nil, through peer: String) async throws {
        let labelText = labels.map { "\"\($0)\"" }.joined(separator: ",")
        let hint = sizeHintBytes.map { #", "sizeHintBytes": \#($0)"# } ?? ""
        let body = #"{"id": "\#(id)", "type": "synthetic", "storageUri": "file://\#(file)", "labels": [\#(labelText)]\#(hint)}"#
        let reply = try await TestHTTP.post(peer + "/v1/models", json: body)
        guard reply.status == 201 || reply.status == 200 else {
            throw TestSupportError("registering \(id): HTTP \(reply.status) \(reply.text)")
        }
    }

    /// One inference with a 4-element tensor; returns the peer that served it.
    @discardableResult
    static func infer(_ model: String, at base: String, timeout: Duration = .seconds(30)) async throws -> String {
        let body = #"{"inputs": [{"name": "INPUT0", "shape": [4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}"#
        let reply = try await TestHTTP.post(base + "/v2/models/\(model)/infer", json: body, timeout: timeout)
        guard reply.status == 200 else { throw TestSupportError("inference of \(model) at \(base): HTTP \(reply.status) \(reply.text)") }
        return reply.header("mm-served-by") ?? "?"
    }
}
