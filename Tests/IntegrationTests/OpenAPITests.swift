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

        /// Every documented route exists on a real peer (an unknown route gets the server's bare 404).
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
                    let unknownRoute = reply.status == 404 && reply.body.isEmpty
                    #expect(!unknownRoute, "\(route[0]) \(path) is documented but not served")
                }
            }
        }
    }
}
