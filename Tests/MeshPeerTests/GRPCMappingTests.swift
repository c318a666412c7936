import MeshCore
@testable import MeshPeer
import OpenInference
import OpenInferenceGRPC
import Testing

@Suite struct GRPCMappingTests {
    let runtimes = RuntimeTypes(names: ["onnx", "synthetic"])

    @Test func modelInfoPathIsAURIWithoutAKey() throws {
        let body = ModelInfoMapping.registration(id: "m", type: "onnx", path: "s3://bucket/m.onnx", key: "", runtimes: runtimes)
        #expect(body.type == "onnx" && body.storage == .uri("s3://bucket/m.onnx"))
        let bare = ModelInfoMapping.registration(id: "m", type: "synthetic", path: "", key: "", runtimes: runtimes)
        #expect(bare.storage == nil)
        // A model without a storage location is refused at registration, not at its first load.
        #expect(throws: MeshError.self) { try bare.validated(types: ["synthetic"], now: .epoch) }
    }

    @Test func modelMeshServingKeysBecomeKeyedStorageAndASizeHint() throws {
        let key = #"{"storage_key": "minio", "bucket": "models", "storage_params": {"region": "eu", "port": 9000}, "model_type": {"name": "onnx"}, "disk_size_bytes": 4000}"#
        let body = ModelInfoMapping.registration(id: "m", type: "mt:onnx", path: "iris/model.onnx", key: key, runtimes: runtimes)
        #expect(body.type == "onnx")
        #expect(body.storage == .keyed(key: "minio", path: "iris/model.onnx", parameters: ["bucket": "models", "region": "eu", "port": "9000"]))
        #expect(body.sizeHintBytes == 5000)
        // A type this mesh knows wins over the key's.
        #expect(ModelInfoMapping.registration(id: "m", type: "synthetic", path: "p", key: key, runtimes: runtimes).type == "synthetic")
        // Without storage_key: the storage-config's default entry.
        let defaulted = ModelInfoMapping.registration(id: "m", type: "onnx", path: "a/b", key: #"{"bucket": "b"}"#, runtimes: runtimes)
        #expect(defaulted.storage == .keyed(key: nil, path: "a/b", parameters: ["bucket": "b"]))
        // A plain key names a storage entry.
        let plain = ModelInfoMapping.registration(id: "m", type: "onnx", path: "a/b", key: "pvc-1", runtimes: runtimes)
        #expect(plain.storage == .keyed(key: "pvc-1", path: "a/b", parameters: [:]))
    }

    @Test func existingRegistrationsMatchOnTypeAndStorage() {
        let base = ModelRecord(type: "onnx", storage: .uri("file:///a"), created: .epoch)
        var scaled = base
        scaled.minCopies = 3
        scaled.references = 2
        #expect(base.sameSource(as: scaled))
        var moved = base
        moved.storage = .uri("file:///b")
        #expect(!base.sameSource(as: moved))
    }

    @Test(arguments: [("100m", Duration.milliseconds(100)), ("5S", .seconds(5)), ("2M", .seconds(120)), ("1H", .seconds(3600)),
                      ("250u", .microseconds(250)), ("99n", .nanoseconds(99))])
    func grpcTimeoutsParse(text: String, duration: Duration) {
        #expect(GRPCTimeout.parse(text) == duration)
    }

    @Test(arguments: ["", "m", "100", "123456789S", "-5S", "5s", "1.5S"])
    func malformedGRPCTimeoutsAreRefused(text: String) {
        #expect(GRPCTimeout.parse(text) == nil)
    }

    @Test func theOversizeGuardPercentEncodesItsMessage() {
        #expect(GRPCStreamReply.percentEncoded("100% sure: ok") == "100%25 sure: ok")
        #expect(GRPCStreamReply.percentEncoded("é\n") == "%C3%A9%0A")
    }

    @Test func peerAddressesSplitIntoHostAndPort() {
        #expect(GRPCAddress.split("10.0.0.7:8033")! == ("10.0.0.7", 8033))
        #expect(GRPCAddress.split("[::1]:8033")! == ("::1", 8033))
        #expect(GRPCAddress.split("mesh-0.mesh:8033")! == ("mesh-0.mesh", 8033))
        #expect(GRPCAddress.split("nohost") == nil)
        #expect(GRPCAddress.split(":8033") == nil)
    }
}
