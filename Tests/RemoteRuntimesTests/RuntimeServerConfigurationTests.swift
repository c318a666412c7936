import MeshCore
@testable import RemoteRuntimes
import Testing

@Suite struct RuntimeServerConfigurationTests {
    @Test func readsBothProtocolsFromYAML() throws {
        let servers = try RuntimeServerConfiguration.parse("""
            - name: mlserver
              protocol: open-inference
              rest: http://127.0.0.1:8080/
              repository: /models/mlserver
              formats: [sklearn, XGBoost, "lightgbm:4"]
              memory: 2Gi
              sizeMultiplier: 1.5
              implementations: {custom: my_module.MyModel}
            - name: custom
              protocol: modelmesh
              grpc: 127.0.0.1:8085
              formats: [custom]
              unloadRetryIntervalMillis: 100
              unloadRetries: 3
            """, source: "servers.yaml")
        #expect(servers.count == 2)
        #expect(servers[0].runtimeProtocol == .openInference)
        #expect(servers[0].server == .mlserver)
        #expect(servers[0].restURL == "http://127.0.0.1:8080")
        #expect(servers[0].formats == ["sklearn", "xgboost", "lightgbm:4"])
        #expect(servers[0].capacityBytes == 2 << 30)
        #expect(servers[0].sizeMultiplier == 1.5)
        #expect(servers[0].implementations == ["custom": "my_module.MyModel"])
        #expect(servers[1].runtimeProtocol == .modelMesh)
        #expect(servers[1].grpcAddress == "127.0.0.1:8085")
        #expect(servers[1].capacityBytes == nil)
        #expect(servers[1].unloadRetryInterval == .milliseconds(100))
        #expect(servers[1].unloadRetries == 3)
    }

    @Test(arguments: [
        ("- {name: a, protocol: grpc, formats: [x]}", "needs \"protocol\": open-inference or modelmesh"),
        ("- {name: A, protocol: modelmesh, grpc: 'h:1', formats: [x]}", "needs a \"name\" of 1 to 63 lower-case letters"),
        ("- {name: builtin, protocol: modelmesh, grpc: 'h:1', formats: [x]}", "other than builtin"),
        ("- {name: a, protocol: modelmesh, grpc: 'h:1'}", "needs \"formats\""),
        ("- {name: a, protocol: modelmesh, grpc: 'h:1', formats: [x], colour: red}", "unknown field \"colour\""),
        ("- {name: a, protocol: modelmesh, formats: [x]}", "needs \"grpc\""),
        ("- {name: a, protocol: open-inference, rest: 'http://h:1', repository: /r, formats: [x]}", "needs \"memory\""),
        ("- {name: a, protocol: open-inference, rest: 'h:1', repository: /r, formats: [x], memory: 1Gi}", "needs \"rest\""),
        ("- {name: a, protocol: open-inference, rest: 'https://h:1', repository: /r, formats: [x], memory: 1Gi}", "needs \"rest\""),
        ("- {name: a, protocol: open-inference, rest: 'http://h:1/v2', repository: /r, formats: [x], memory: 1Gi}", "must be http://HOST:PORT"),
        ("- {name: a, protocol: open-inference, rest: 'http://h', repository: /r, formats: [x], memory: 1Gi}", "must be http://HOST:PORT"),
        ("- {name: a, protocol: open-inference, rest: 'http://h:1', repository: r, formats: [x], memory: 1Gi}", "absolute path"),
        ("- {name: a, protocol: open-inference, rest: 'http://h:1', repository: /r, formats: [x], memory: lots}", "\"memory\" must be a size"),
        ("- {name: a, protocol: modelmesh, grpc: 'h:1', formats: [x], repository: /r}", "applies to open-inference servers only"),
        ("[{name: a, protocol: modelmesh, grpc: 'h:1', formats: [x]}, {name: a, protocol: modelmesh, grpc: 'h:2', formats: [y]}]", "two runtime servers are named a"),
        ("name: a", "must hold a list of runtime servers"),
        ("- [", "is not valid YAML or JSON"),
    ])
    func refusesWhatItCannotUseWithTheReason(text: String, expected: String) {
        #expect {
            _ = try RuntimeServerConfiguration.parse(text, source: "f.yaml")
        } throws: { error in
            "\(error)".contains(expected) && "\(error)".hasPrefix("f.yaml")
        }
    }
}
