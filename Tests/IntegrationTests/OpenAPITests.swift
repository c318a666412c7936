import Foundation
import MeshTestSupport
import Testing

extension Integration {
    @Suite struct OpenAPIDocument {
        static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

        @Test func theDocumentIsValidOpenAPI() throws {
            let output = try runCommand("python3", ["-c", """
                from openapi_spec_validator import validate
                from openapi_spec_validator.readers import read_from_filename
                spec, _ = read_from_filename('\(Self.repo)/docs/openapi.yaml')
                validate(spec)
                print(len(spec['paths']))
                """])
            #expect(Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 15)
        }

        /// Every documented route exists on a real peer (an unknown route gets 404 "no route", a
        /// known path asked with another method 405).
        @Test func everyDocumentedRouteIsServed() async throws {
            let listing = try runCommand("python3", ["-c", """
                from openapi_spec_validator.readers import read_from_filename
                spec, _ = read_from_filename('\(Self.repo)/docs/openapi.yaml')
                for path, item in spec['paths'].items():
                    for method in item:
                        print(method.upper(), path)
                """])
            try await withMesh(peers: 1) { mesh in
                let peer = mesh.peers[0]
                #expect(try await peer.register("doc-model", storage: try mesh.syntheticModel("doc-model")).status == 201)
                let routes = listing.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
                #expect(routes.count >= 20)
                for route in routes {
                    let path = route[1].replacingOccurrences(of: "{model}", with: "doc-model").replacingOccurrences(of: "{version}", with: "1")
                    let body: [UInt8]? = route[0] == "GET" || route[0] == "DELETE" ? nil : Array(#"{"inputs": [{"name": "INPUT0", "shape": [1], "datatype": "FP32", "data": [1]}]}"#.utf8)
                    let reply = try await TestHTTP.send(.init(rawValue: route[0]), peer.url + path, body: body, headers: [("content-type", "application/json")])
                    let error = reply.json["error"] as? String ?? ""
                    let unknownRoute = reply.status == 405 || (reply.status == 404 && error.hasPrefix("no route"))
                    #expect(!unknownRoute, "\(route[0]) \(path) is documented but not served")
                }
            }
        }

        /// What no route handles gets the JSON error every other answer uses: 404 for an unknown
        /// path, 405 with `Allow` for a method the path does not have.
        @Test func unmatchedRequestsGetJSONErrors() async throws {
            try await withMesh(peers: 1) { mesh in
                let peer = mesh.peers[0]
                let unknown = try await TestHTTP.get(peer.url + "/v3/models")
                #expect(unknown.status == 404)
                #expect(unknown.header("content-type") == "application/json")
                #expect((unknown.json["error"] as? String)?.contains("no route /v3/models") == true, "\(unknown.text)")
                for (method, path, allowed) in [("TRACE", "/v2", "GET"), ("PATCH", "/v2/models/m", "GET"), ("DELETE", "/v1/models", "GET, POST"),
                                                ("OPTIONS", "/v1/models/m", "DELETE, GET, PATCH"), ("GET", "/v2/models/m/infer", "POST")] {
                    let reply = try await TestHTTP.send(.init(rawValue: method), peer.url + path)
                    #expect(reply.status == 405, "\(method) \(path): \(reply.status)")
                    #expect(reply.header("allow") == allowed, "\(method) \(path)")
                    #expect((reply.json["error"] as? String)?.contains("\(method) is not allowed on \(path)") == true, "\(reply.text)")
                }
                // The internal gossip path answers only POST (this client, on a peer's address, passes the peer gate).
                let gossip = try await TestHTTP.get(peer.url + "/_mesh/gossip")
                #expect(gossip.status == 405)
                #expect(gossip.header("allow") == "POST")
            }
        }
    }
}
