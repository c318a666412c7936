import GRPCCore
@testable import MeshPeer
import NIOCore
import NIOHPACK
import Testing

/// What ``GRPCInferFastPath`` takes and how it writes answers; its behaviour against
/// grpc-swift's is compared in `Integration.GRPCStreamPath`.
@Suite struct GRPCInferFastPathTests {
    static let plain: HPACKHeaders = [
        ":method": "POST", ":scheme": "http", ":path": "/inference.GRPCInferenceService/ModelInfer",
        ":authority": "127.0.0.1", "content-type": "application/grpc", "te": "trailers",
    ]

    @Test func onlyPlainModelInferCallsAreTaken() {
        #expect(GRPCInferFastPath.takes(Self.plain))
        var proto = Self.plain
        proto.replaceOrAdd(name: "content-type", value: "application/grpc+proto")
        proto.add(name: "grpc-encoding", value: "identity")
        #expect(GRPCInferFastPath.takes(proto))
        let changes: [(String, String?)] = [
            (":path", "/inference.GRPCInferenceService/ModelMetadata"), (":path", "/inference.GRPCInferenceService/ModelInfer/"),
            (":method", "GET"), (":scheme", "ftp"), (":scheme", nil), ("content-type", "application/grpc+json"),
            ("content-type", "application/json"), ("content-type", nil), ("grpc-encoding", "gzip"),
        ]
        for (name, value) in changes {
            var headers = Self.plain
            headers.remove(name: name)
            if let value { headers.add(name: name, value: value) }
            #expect(!GRPCInferFastPath.takes(headers), "\(name): \(value ?? "absent")")
        }
    }

    @Test func onlyOneWholeUncompressedMessageIsTaken() {
        let framed = { (flag: UInt8, length: UInt32, bytes: [UInt8]) in
            var buffer = ByteBuffer()
            buffer.writeInteger(flag)
            buffer.writeInteger(length)
            buffer.writeBytes(bytes)
            return buffer
        }
        #expect(GRPCInferFastPath.onlyMessage(in: framed(0, 3, [1, 2, 3])) == [1, 2, 3])
        #expect(GRPCInferFastPath.onlyMessage(in: framed(0, 0, [])) == [])
        #expect(GRPCInferFastPath.onlyMessage(in: framed(1, 3, [1, 2, 3])) == nil, "compressed")
        #expect(GRPCInferFastPath.onlyMessage(in: framed(0, 4, [1, 2, 3])) == nil, "short")
        #expect(GRPCInferFastPath.onlyMessage(in: framed(0, 2, [1, 2, 3])) == nil, "a second message follows")
        #expect(GRPCInferFastPath.onlyMessage(in: ByteBuffer(bytes: [0, 0, 0])) == nil, "no whole prefix")
        #expect(GRPCInferFastPath.onlyMessage(in: ByteBuffer()) == nil, "no message")
        // A buffer read from the middle (as frames arrive) is read from its reader index.
        var offset = framed(0, 1, [9])
        offset = ByteBuffer(bytes: [7, 7] + Array(offset.readableBytesView))
        offset.moveReaderIndex(forwardBy: 2)
        #expect(GRPCInferFastPath.onlyMessage(in: offset) == [9])
    }

    @Test func answersAreSpelledAsGRPCSwiftSpellsThem() {
        var metadata: Metadata = ["mm-served-by": "mesh-0"]
        metadata.addBinary([0, 255], forKey: "mm-note-bin")
        guard case .message(let headers, let message, let trailers) = GRPCStreamReply(ServerResponse(message: [1, 2], metadata: metadata)) else {
            Issue.record("a response is headers, a message and trailers")
            return
        }
        #expect(headers.first(name: ":status") == "200" && headers.first(name: "content-type") == "application/grpc")
        #expect(headers.first(name: "mm-served-by") == "mesh-0" && headers.first(name: "mm-note-bin") == "AP8=")
        #expect(message == [1, 2] && trailers.first(name: "grpc-status") == "0" && trailers.first(name: ":status") == nil)

        var error = RPCError(code: .notFound, message: "model m is not registered: 100% sure")
        error.metadata.addString("mesh-1", forKey: "mm-served-by")
        guard case .status(let status) = GRPCStreamReply(ServerResponse<[UInt8]>(error: error)) else {
            Issue.record("an error is a trailers-only answer")
            return
        }
        #expect(status.first(name: ":status") == "200" && status.first(name: "content-type") == "application/grpc")
        #expect(status.first(name: "grpc-status") == "5" && status.first(name: "mm-served-by") == "mesh-1")
        #expect(status.first(name: "grpc-message") == "model m is not registered: 100%25 sure")
    }

    @Test func requestMetadataIsReadAsGRPCSwiftReadsIt() {
        var headers = Self.plain
        headers.add(name: "mm-model-id", value: "m")
        headers.add(name: "mm-note-bin", value: "AP8")
        headers.add(name: "mm-odd-bin", value: "not base64!")
        let metadata = GRPCStreamReply.metadata(of: headers)
        #expect(metadata.first("mm-model-id") == "m" && metadata.first("te") == "trailers")
        #expect(Array(metadata[binaryValues: "mm-note-bin"]) == [[0, 255]])
        #expect(metadata.first("mm-odd-bin") == "not base64!")
        #expect(metadata.first(":path") == nil && metadata.first(":method") == nil)
    }
}
