import Foundation
import MeshTestSupport
import OpenInference
import Testing

extension Integration {
    /// Every bad input gets a precise 4xx, the peer keeps running, and nothing registered is lost.
    @Suite struct BadInput {
        struct Case: Sendable, CustomStringConvertible {
            var name: String
            var method: String = "POST"
            var path: String
            var body: String
            var headers: [(String, String)] = []
            var status: Int
            var message: String
            var description: String { name }
        }

        static let cases: [Case] = [
            Case(name: "malformed JSON", path: "/v2/models/good/infer", body: "{\"inputs\": [", status: 400, message: "the body is not valid JSON"),
            Case(name: "not an object", path: "/v2/models/good/infer", body: "[1, 2]", status: 400, message: "the request body must be a JSON object"),
            Case(name: "wrong datatype", path: "/v2/models/good/infer",
                 body: #"{"inputs": [{"name": "INPUT0", "shape": [2], "datatype": "INT64", "data": [1, 2]}]}"#,
                 status: 400, message: "input 'INPUT0' has datatype INT64 but good expects FP32"),
            Case(name: "wrong shape", path: "/v2/models/good/infer",
                 body: #"{"inputs": [{"name": "INPUT0", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}]}"#,
                 status: 400, message: "input 'INPUT0' has shape [2, 2] but good expects [-1]"),
            Case(name: "data does not fill the shape", path: "/v2/models/good/infer",
                 body: #"{"inputs": [{"name": "INPUT0", "shape": [3], "datatype": "FP32", "data": [1, 2]}]}"#,
                 status: 400, message: "input 'INPUT0' has shape [3] (3 elements) but its data has 2"),
            Case(name: "unknown input", path: "/v2/models/good/infer",
                 body: #"{"inputs": [{"name": "IMAGE", "shape": [1], "datatype": "FP32", "data": [1]}]}"#,
                 status: 400, message: "missing input 'INPUT0'"),
            Case(name: "unknown model", path: "/v2/models/nobody/infer",
                 body: #"{"inputs": [{"name": "INPUT0", "shape": [1], "datatype": "FP32", "data": [1]}]}"#,
                 status: 404, message: "model nobody is not registered"),
            Case(name: "hostile model id", path: "/v2/models/..%2F..%2Fetc%2Fpasswd/infer", body: "{}", status: 400, message: "model id"),
            Case(name: "overlong model id", path: "/v2/models/\(String(repeating: "a", count: 300))/infer", body: "{}",
                 status: 400, message: "model id is 300 characters long; the limit is 200"),
            Case(name: "bad binary header", path: "/v2/models/good/infer", body: "{}", headers: [("inference-header-content-length", "-5")],
                 status: 400, message: "Inference-Header-Content-Length must be a non-negative integer"),
            Case(name: "registration without type", path: "/v1/models", body: #"{"id": "x"}"#, status: 400, message: "missing field \"type\""),
            Case(name: "registration of an unknown type", path: "/v1/models", body: #"{"id": "x", "type": "tensorflow"}"#,
                 status: 400, message: "unknown model type \"tensorflow\""),
            Case(name: "registration with a hostile id", path: "/v1/models", body: #"{"id": "../../etc", "type": "synthetic"}"#,
                 status: 400, message: "model id must start with a letter or a digit"),
            Case(name: "storage path escaping its root", path: "/v1/models",
                 body: #"{"id": "escape", "type": "synthetic", "storageUri": "models/../../etc/shadow"}"#,
                 status: 400, message: "storage: uri contains a '..' segment"),
            Case(name: "keyed storage with an absolute path", path: "/v1/models",
                 body: #"{"id": "escape", "type": "synthetic", "storage": {"key": "s3", "path": "/etc/shadow"}}"#,
                 status: 400, message: "storage: path starts with '/'"),
            Case(name: "credentials in a storage uri", path: "/v1/models",
                 body: #"{"id": "leak", "type": "synthetic", "storageUri": "s3://user:secret@host/bucket/m"}"#,
                 status: 400, message: "storage: uri carries credentials"),
            Case(name: "registration without a storage location", path: "/v1/models", body: #"{"id": "nostore", "type": "synthetic"}"#,
                 status: 400, message: "model nostore has no storage location; give \"storageUri\""),
            Case(name: "negative min copies", path: "/v1/models", body: #"{"id": "y", "type": "synthetic", "storageUri": "m", "minCopies": -1}"#,
                 status: 400, message: "minCopies must not be negative"),
            Case(name: "max below min copies", path: "/v1/models", body: #"{"id": "y", "type": "synthetic", "storageUri": "m", "minCopies": 3, "maxCopies": 2}"#,
                 status: 400, message: "maxCopies (2) is below minCopies (3)"),
            Case(name: "conflicting re-registration", path: "/v1/models", body: #"{"id": "good", "type": "synthetic", "storageUri": "file:///elsewhere"}"#,
                 status: 409, message: "model good is already registered with a different definition"),
            Case(name: "unregistering an unknown model", method: "DELETE", path: "/v1/models/ghost", body: "", status: 404, message: "model ghost is not registered"),
            Case(name: "bad timeout header", path: "/v2/models/good/infer", body: "{}", headers: [("mm-timeout-ms", "soon")],
                 status: 400, message: "mm-timeout-ms must be a positive number of milliseconds"),
        ]

        @Test func everyBadInputGetsItsStatusAndThePeerStaysUp() async throws {
            try await withMesh(peers: 2, arguments: ["--max-body-bytes", "1Mi"]) { mesh in
                let peer = mesh.peers[0]
                let path = try mesh.syntheticModel("good")
                #expect(try await peer.register("good", storage: path).status == 201)
                #expect(try await peer.infer("good").status == 200)
                let before = try mesh.etcdctlGet("/models/", keysOnly: true)

                for testCase in Self.cases {
                    let reply = try await TestHTTP.send(
                        .init(rawValue: testCase.method), peer.url + testCase.path,
                        body: testCase.body.isEmpty ? nil : Array(testCase.body.utf8),
                        headers: [("content-type", "application/json")] + testCase.headers
                    )
                    let error = (try? JSONParser.parse(reply.body))?["error"]?.stringValue ?? reply.text
                    #expect(reply.status == testCase.status, "\(testCase.name): got \(reply.status) \(error)")
                    #expect(error.contains(testCase.message), "\(testCase.name): \(error)")
                }

                // A body over the limit is refused from its Content-Length, before it is read.
                let big = [UInt8](repeating: UInt8(ascii: " "), count: 2 << 20)
                let oversized = try await TestHTTP.send(.POST, peer.url + "/v2/models/good/infer", body: big)
                #expect(oversized.status == 413)
                #expect(oversized.text.contains("this peer accepts at most 1048576"))

                // Nothing was lost, and both peers still serve.
                #expect(try mesh.etcdctlGet("/models/", keysOnly: true) == before)
                for peer in mesh.peers {
                    #expect(peer.isRunning)
                    #expect(try await peer.infer("good", [4]).output == expectedOutput("good", [4]))
                }
            }
        }
    }
}
