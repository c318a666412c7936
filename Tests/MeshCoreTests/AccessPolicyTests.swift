import MeshCore
import Testing

@Suite struct AccessPolicyTests {
    let policy = AccessPolicy()

    @Test func healthIsOpenTheDataPlaneNeedsInferAndTheRestAdmin() {
        #expect(policy.required(restPath: "/v2/health/live") == .open)
        #expect(policy.required(restPath: "/v2/health/ready") == .open)
        #expect(policy.required(restPath: "/metrics") == .open)
        #expect(AccessPolicy(metricsOpen: false).required(restPath: "/metrics") == .role(.infer))
        #expect(policy.required(restPath: "/v2") == .role(.infer))
        #expect(policy.required(restPath: "/v2/models/m/infer") == .role(.infer))
        #expect(policy.required(restPath: "/v2/models/m/versions/1/ready") == .role(.infer))
        #expect(policy.required(restPath: "/v2/models/m") == .role(.infer))
        #expect(policy.required(restPath: "/v1/models") == .role(.admin))
        #expect(policy.required(restPath: "/v1/vmodels/v") == .role(.admin))
        #expect(policy.required(restPath: "/v1/peers") == .role(.admin))
        #expect(policy.required(restPath: "/v2/repository/index") == .role(.admin))
        #expect(policy.required(restPath: "/v2/repository/models/m/load") == .role(.admin))
    }

    /// Spellings the allow-list does not expect can only need more, never less.
    @Test func oddSpellingsFallToAdmin() {
        for path in ["", "v2/models/m/infer", "//v2/models/m/infer", "/v2/models/../../v1/models", "/v2/models/./m/infer",
                     "/%76%32/models/m/infer", "/v2/models/m%2F..%2F..%2Fv1/infer", "/V2/health/live", "/v2/health/live/",
                     "/metrics/", "/unknown"] {
            #expect(policy.required(restPath: path) == .role(.admin), "\(path)")
        }
    }

    @Test func grpcMethods() {
        #expect(policy.required(grpcMethod: "inference.GRPCInferenceService/ServerLive") == .open)
        #expect(policy.required(grpcMethod: "inference.GRPCInferenceService/ModelInfer") == .role(.infer))
        #expect(policy.required(grpcMethod: "inference.GRPCInferenceService/ModelMetadata") == .role(.infer))
        #expect(policy.required(grpcMethod: "inference.GRPCInferenceService/RepositoryModelLoad") == .role(.admin))
        #expect(policy.required(grpcMethod: "mmesh.ModelMesh/registerModel") == .role(.admin))
        #expect(policy.required(grpcMethod: "mmesh.ModelMesh/getModelStatus") == .role(.admin))
        #expect(policy.required(grpcMethod: "other.Service/Method") == .role(.admin))
    }

    @Test func adminIncludesInfer() {
        #expect(AccessRole.admin.allows(.infer))
        #expect(AccessRole.admin.allows(.admin))
        #expect(AccessRole.infer.allows(.infer))
        #expect(!AccessRole.infer.allows(.admin))
    }
}

@Suite struct BearerTokenTableTests {
    static let hashA = String(repeating: "a", count: 64)
    static let hashB = String(repeating: "0123456789abcdef", count: 4)

    @Test func parsesRolesPrincipalsAndHashesWithComments() throws {
        let table = try BearerTokenTable.parse("""
            # role principal sha256
            admin  alice \(Self.hashA)   # on-call
            infer\tbilling-service\tsha256:\(Self.hashB.uppercased())

            """)
        #expect(table.grants.count == 2)
        #expect(table.grants[Self.hashA] == .init(role: .admin, principal: "alice"))
        #expect(table.grants[Self.hashB] == .init(role: .infer, principal: "billing-service"))
        #expect(try BearerTokenTable.parse("").grants.isEmpty)
    }

    @Test func problemsNameTheirLine() {
        let cases: [(String, String)] = [
            ("admin alice", "three fields"),
            ("root alice \(Self.hashA)", "unknown role"),
            ("admin al/ice \(Self.hashA)", "principal"),
            ("admin alice s3cr3t-token", "64 hex digits"),
            ("admin alice \(Self.hashA)\ninfer alice \(Self.hashB)", "appears twice"),
            ("admin alice \(Self.hashA)\ninfer bob \(Self.hashA)", "hash appears twice"),
        ]
        for (text, expected) in cases {
            #expect {
                try BearerTokenTable.parse("# header\n" + text)
            } throws: { error in
                guard let problem = error as? BearerTokenTable.Problem else { return false }
                return problem.line >= 2 && problem.message.contains(expected)
            }
        }
    }
}
