@testable import ModelStorage
import Testing

/// The egress policy's decisions, pure: no resolution, no connection.
@Suite(.timeLimit(.minutes(5))) struct EgressPolicyTests {
    func refusal(_ policy: EgressPolicy, host: String = "models.example", _ addresses: String..., port: Int = 80) throws -> EgressRefusal? {
        let parsed = try addresses.map { text in try #require(IPAddress(text), "\(text)") }
        return policy.refusal(host: host, port: port, addresses: parsed)
    }

    func cause(_ policy: EgressPolicy, host: String = "models.example", _ address: String, port: Int = 80) throws -> EgressRefusal.Cause? {
        try refusal(policy, host: host, address, port: port)?.cause
    }

    @Test func internalClassesAreRefusedByDefaultAndTheInternetAndPrivateNetworksAreNot() throws {
        let policy = EgressPolicy()
        for kind in AddressClass.allCases {
            let example = try #require(Self.examples[kind])
            let expected: EgressRefusal.Cause? = kind == .publicInternet || kind == .privateNetwork ? nil : .addressClass(kind)
            #expect(try cause(policy, example) == expected, "\(kind): \(example)")
            #expect(try cause(policy, "::ffff:\(example)") == expected, "\(kind), IPv4-mapped")
        }
    }

    @Test func privateNetworksCanBeRefusedAndThenAllowedByRange() throws {
        var policy = EgressPolicy(refusesPrivateNetworks: true)
        for address in ["10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "fd12::1", "::ffff:10.0.0.1"] {
            #expect(try cause(policy, address) == .addressClass(.privateNetwork), "\(address)")
        }
        #expect(try cause(policy, "203.0.113.7") == nil)
        policy.allowed = try EgressRule.list("10.0.0.0/8, fd00::/8")
        #expect(try cause(policy, "10.9.8.7") == nil)
        #expect(try cause(policy, "fd12::1") == nil)
        #expect(try cause(policy, "192.168.1.1") == .addressClass(.privateNetwork))
        let message = try #require(try refusal(policy, "192.168.1.1")).error(subject: "HTTP storage http://models.example/m", allowSetting: "--storage-egress-allow").message
        #expect(message.contains("refuses private networks"))
    }

    @Test func everyResolvedAddressIsChecked() throws {
        let refused = try #require(try refusal(EgressPolicy(), "203.0.113.7", "127.0.0.1", "2001:db8::1"))
        #expect(refused.address == IPAddress("127.0.0.1"))
        #expect(refused.cause == .addressClass(.loopback))
        #expect(try refusal(EgressPolicy(), "203.0.113.7", "2001:db8::1") == nil)
    }

    @Test func metadataNamesAreRefusedBeforeResolutionUnlessAllowedByName() throws {
        let policy = EgressPolicy()
        for name in ["metadata.google.internal", "METADATA.Google.Internal.", "metadata", "metadata.goog", "instance-data"] {
            #expect(policy.refusal(beforeResolving: name, port: 80)?.cause == .metadataName, "\(name)")
        }
        #expect(policy.refusal(beforeResolving: "metadata.example.com", port: 80) == nil)
        let allowed = try EgressPolicy(allowing: ["metadata.google.internal"])
        #expect(allowed.refusal(beforeResolving: "metadata.google.internal", port: 80) == nil)
        #expect(try cause(allowed, host: "metadata.google.internal", "169.254.169.254") == nil, "a name rule allows what the name resolves to")
        #expect(try cause(allowed, host: "other.example", "169.254.169.254") == .addressClass(.cloudMetadata))
    }

    @Test func allowRulesMatchAddressesRangesPortsAndNames() throws {
        let loopback = try EgressPolicy(allowing: ["127.0.0.1"])
        #expect(try cause(loopback, "127.0.0.1", port: 8080) == nil)
        #expect(try cause(loopback, "127.0.0.1", port: 9) == nil)
        #expect(try cause(loopback, "::ffff:127.0.0.1") == nil, "the mapped form is the same address")
        #expect(try cause(loopback, "127.0.0.2") == .addressClass(.loopback))
        #expect(try cause(loopback, "::1") == .addressClass(.loopback))

        let onePort = try EgressPolicy(allowing: ["127.0.0.1:8080", "[::1]:9000"])
        #expect(try cause(onePort, "127.0.0.1", port: 8080) == nil)
        #expect(try cause(onePort, "127.0.0.1", port: 8081) == .addressClass(.loopback))
        #expect(try cause(onePort, "::1", port: 9000) == nil)
        #expect(try cause(onePort, "::1", port: 9001) == .addressClass(.loopback))

        let linkLocal = try EgressPolicy(allowing: ["fe80::/10"])
        #expect(try cause(linkLocal, "fe80::1") == nil)
        #expect(try cause(linkLocal, "169.254.0.1") == .addressClass(.linkLocal))

        let names = try EgressPolicy(allowing: ["*.storage.svc", "minio.local:9000"])
        #expect(try cause(names, host: "minio.storage.svc", "127.0.0.1") == nil)
        #expect(try cause(names, host: "MinIO.Storage.svc.", "127.0.0.1") == nil)
        #expect(try cause(names, host: "storage.svc", "127.0.0.1") != nil, "*. means subdomains only")
        #expect(try cause(names, host: "evilstorage.svc", "127.0.0.1") != nil)
        #expect(try cause(names, host: "minio.local", "127.0.0.1", port: 9000) == nil)
        #expect(try cause(names, host: "minio.local", "127.0.0.1", port: 80) != nil)
    }

    @Test func allowRulesParseTheirFormsAndNameMalformedEntries() throws {
        let rules = try EgressRule.list(" 127.0.0.1, 10.1.2.3/8,,[::1]:9000, fd00::/8, *.Storage.svc, minio.storage.svc.:9000 ")
        #expect(rules.map(\.description) == ["127.0.0.1", "10.0.0.0/8", "[::1]:9000", "fd00::/8", "*.storage.svc", "minio.storage.svc:9000"])
        for malformed in ["", "10.0.0.0/33", "http://minio", "minio:0", "minio:99999", "[::1", "[::1]9000", "a b", "*.", "minio/models"] {
            let error = #expect(throws: StorageError.self) { try EgressRule(malformed) }
            #expect(error?.reason == .invalidConfiguration, "\(malformed)")
            #expect(error?.message.contains("'\(malformed)'") == true)
        }
        let policy = #expect(throws: StorageError.self) { try EgressPolicy(allowing: ["127.0.0.1", "10.0.0.0/40"]) }
        #expect(policy?.message.contains("10.0.0.0/40") == true)
    }

    @Test func thePeersOwnEndpointsAreRefusedEvenWhenAllowed() throws {
        let policy = try EgressPolicy(allowing: ["0.0.0.0/0", "::/0"], ownPorts: [8008, 8033], ownAddresses: ["10.0.0.5", "Peer-0.mesh.svc"])
        for (address, port) in [("127.0.0.1", 8008), ("127.0.0.53", 8033), ("::1", 8008), ("0.0.0.0", 8008), ("::", 8033), ("::ffff:127.0.0.1", 8008), ("10.0.0.5", 8008), ("::ffff:10.0.0.5", 8033)] {
            #expect(try cause(policy, address, port: port) == .ownEndpoint, "\(address):\(port)")
        }
        #expect(try cause(policy, "127.0.0.1", port: 8009) == nil)
        #expect(try cause(policy, "10.0.0.5", port: 9000) == nil)
        #expect(try cause(policy, "10.0.0.6", port: 8008) == nil, "another machine's port 8008 is not this peer")
        #expect(policy.refusal(beforeResolving: "peer-0.mesh.svc", port: 8008)?.cause == .ownEndpoint)
        #expect(policy.refusal(beforeResolving: "peer-0.mesh.svc", port: 9000) == nil)
        let message = try #require(try refusal(policy, host: "127.0.0.1", "127.0.0.1", port: 8008)).error(subject: "HTTP storage http://127.0.0.1:8008/_mesh", allowSetting: "--storage-egress-allow").message
        #expect(message == "HTTP storage http://127.0.0.1:8008/_mesh is at 127.0.0.1:8008, this peer's own listening port; a peer never fetches models from itself, and no setting allows it")
        let byName = try #require(policy.refusal(beforeResolving: "peer-0.mesh.svc", port: 8008))
            .error(subject: "HTTP storage http://peer-0.mesh.svc:8008/", allowSetting: "--storage-egress-allow").message
        #expect(byName.contains("names peer-0.mesh.svc:8008, this peer's own listening port"))
    }

    @Test func deniedDestinationsAreRefusedInAllowedRangesAndOverAllowRules() throws {
        // etcd on a private address: private networks are allowed, the deny-list is not overruled.
        let policy = try EgressPolicy(allowing: ["10.96.0.0/12"], denying: ["10.96.0.10:2379", "etcd.mesh.svc"])
        #expect(try cause(policy, "10.96.0.10", port: 2379) == .deniedByRule(try EgressRule("10.96.0.10:2379")))
        #expect(try cause(policy, "::ffff:10.96.0.10", port: 2379) != nil)
        #expect(try cause(policy, "10.96.0.10", port: 9000) == nil)
        #expect(policy.refusal(beforeResolving: "ETCD.mesh.svc.", port: 80)?.cause == .deniedByRule(try EgressRule("etcd.mesh.svc")))
        let message = try #require(try refusal(policy, host: "10.96.0.10", "10.96.0.10", port: 2379))
            .error(subject: "HTTP storage http://10.96.0.10:2379/version", allowSetting: "--storage-egress-allow").message
        #expect(message == "HTTP storage http://10.96.0.10:2379/version is at 10.96.0.10:2379, which this peer's storage egress deny-list refuses ('10.96.0.10:2379'); models are never fetched from there")
    }

    @Test func refusalsNameTheHostTheAddressAndTheSetting() throws {
        let literal = try #require(try refusal(EgressPolicy(), host: "127.0.0.1", "127.0.0.1", port: 2379))
            .error(subject: "HTTP storage http://127.0.0.1:2379/v3/kv/range", allowSetting: "--storage-egress-allow")
        #expect(literal.reason == .egressDenied)
        #expect(literal.message == "HTTP storage http://127.0.0.1:2379/v3/kv/range is at 127.0.0.1, a loopback address, which HTTP storage may not reach by default; if it really serves models, add '127.0.0.1' (or '127.0.0.1:2379' for this port only) to --storage-egress-allow")

        let name = try #require(try refusal(EgressPolicy(), host: "metadata.internal.example", "169.254.169.254"))
            .error(subject: "HTTP storage http://a.example/m redirected to http://metadata.internal.example/, which", allowSetting: "MM_STORAGE_EGRESS_ALLOW")
        #expect(name.message == "HTTP storage http://a.example/m redirected to http://metadata.internal.example/, which resolves to 169.254.169.254, a cloud metadata address, which HTTP storage may not reach by default; if it really serves models, add 'metadata.internal.example' or '169.254.169.254' to MM_STORAGE_EGRESS_ALLOW")

        let metadata = try #require(EgressPolicy().refusal(beforeResolving: "metadata.google.internal", port: 80))
            .error(subject: "HTTP storage http://metadata.google.internal/x", allowSetting: "--storage-egress-allow")
        #expect(metadata.message.contains("'metadata.google.internal', a cloud metadata service"))
    }

    static let examples: [AddressClass: String] = [
        .cloudMetadata: "169.254.169.254", .loopback: "127.0.0.1", .linkLocal: "169.254.10.1", .unspecified: "0.0.0.0",
        .multicast: "224.0.0.251", .broadcastOrReserved: "255.255.255.255", .privateNetwork: "10.0.0.1",
        .publicInternet: "203.0.113.7",
    ]
}
