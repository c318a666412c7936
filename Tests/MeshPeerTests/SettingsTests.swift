import MeshCore
import MeshPeer
import Testing

@Suite struct SettingsTests {
    @Test func flagsBeatEnvironmentWhichBeatsTheFile() throws {
        let configuration = try PeerSettings.resolve(
            flags: ["capacity": "2Gi"],
            environment: ["MM_CAPACITY": "1Gi", "MM_ZONE": "zone-a", "HOSTNAME": "mesh-3"],
            file: ["capacity": "512Mi", "zone": "zone-b", "labels": "gpu,fast", "lease-ttl": "20s"]
        )
        #expect(configuration.peerID.rawValue == "mesh-3")
        #expect(configuration.capacityBytes == 2 << 30)
        #expect(configuration.zone == "zone-a")
        #expect(configuration.labels == ["gpu", "fast"])
        #expect(configuration.leaseTTLSeconds == 20)
        #expect(configuration.layout.prefix == "/mm/default")
    }

    @Test func parsesSizesAndDurations() throws {
        #expect(try PeerSettings.bytes("512Mi", "x") == 512 << 20)
        #expect(try PeerSettings.bytes("2G", "x") == 2_000_000_000)
        #expect(try PeerSettings.bytes("1000", "x") == 1000)
        #expect(try PeerSettings.duration("500ms", "x") == .milliseconds(500))
        #expect(try PeerSettings.duration("2m", "x") == .seconds(120))
        #expect(try PeerSettings.duration("1.5", "x") == .milliseconds(1500))
        #expect(throws: PeerSettings.Problem.self) { try PeerSettings.bytes("lots", "capacity") }
        #expect(throws: PeerSettings.Problem.self) { try PeerSettings.duration("-1s", "x") }
    }

    @Test func refusesBadValuesWithTheSettingName() {
        func problem(_ flags: [String: String]) -> String {
            do {
                _ = try PeerSettings.resolve(flags: flags, environment: ["HOSTNAME": "p"], file: [:])
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(problem(["http-port": "99999"]) == "--http-port must be a port number, not \"99999\"")
        #expect(problem(["peer-id": "a/b"]) == "--peer-id: peer id contains '/' at offset 1; allowed are letters, digits, '.', '_' and '-'")
        #expect(problem(["lease-ttl": "1s"]) == "--lease-ttl must be at least 2s")
        #expect(problem(["capacity": "big"]) == "--capacity must be a size like 1Gi, 512Mi or 1000000, not \"big\"")
        #expect(problem(["etcd-prefix": "mm"]) == "--etcd-prefix must start with '/'")
        #expect(problem(["grpc-infer-hops": "http2"]) == "--grpc-infer-hops must be http1 or grpc, not \"http2\"")
    }

    @Test func gRPCInferenceHopsTravelOverHTTP1UnlessToldOtherwise() throws {
        let environment = ["HOSTNAME": "p"]
        #expect(try PeerSettings.resolve(flags: [:], environment: environment, file: [:]).grpcInferHops == .http1)
        #expect(try PeerSettings.resolve(flags: ["grpc-infer-hops": "grpc"], environment: environment, file: [:]).grpcInferHops == .grpc)
        #expect(try PeerSettings.resolve(flags: [:], environment: environment.merging(["MM_GRPC_INFER_HOPS": "grpc"]) { $1 }, file: [:])
            .grpcInferHops == .grpc)
    }

    @Test func needsAPeerID() {
        #expect(throws: PeerSettings.Problem.self) { try PeerSettings.resolve(flags: [:], environment: [:], file: [:]) }
    }
}
