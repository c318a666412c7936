import Foundation
import GRPCCore
import MeshTestSupport
import OpenInferenceGRPC
import Testing

extension Integration {
    /// Traces of forwarded requests, exported over OTLP/HTTP by real peers to a receiver the
    /// test starts (a small Python server that keeps every export).
    @Suite struct Tracing {
        static let scripts = integrationScripts.path

        /// A W3C trace id and a traceparent that continues it (sampled).
        static func trace() -> (id: String, header: String) {
            let hex = "0123456789abcdef"
            let id = String((0..<32).map { _ in hex.randomElement()! })
            let parent = String((0..<16).map { _ in hex.randomElement()! })
            return (id, "00-\(id)-\(parent)-01")
        }

        /// The 16 bytes of a trace id as OTLP's protobuf carries them.
        static func bytes(_ hex: String) -> [UInt8] {
            stride(from: 0, to: hex.count, by: 2).map { offset in
                let start = hex.index(hex.startIndex, offsetBy: offset)
                return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
            }
        }

        /// The exports received so far.
        static func exports(in directory: TemporaryDirectory) -> [[UInt8]] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.filter { $0.hasSuffix(".pb") }.sorted().compactMap { FileManager.default.contents(atPath: directory.appending($0)).map(Array.init) }
        }

        /// Whether `peer` exported a span of `traceID` named each of `spans`.
        static func exported(_ exports: [[UInt8]], peer: String, traceID: String, spans: [String]) -> Bool {
            let id = bytes(traceID)
            let names = Set(exports.flatMap(OTLPSpans.read).filter { $0.service == peer && $0.traceID == id }.map(\.name))
            return spans.allSatisfy(names.contains)
        }

        @Test func aForwardedRequestIsOneTraceAcrossBothPeersOverRESTAndGRPC() async throws {
            let received = try TemporaryDirectory(prefix: "mesh-otlp")
            defer { received.remove() }
            let port = FreePort.next()
            let receiver = try ManagedProcess(name: "otlp-receiver", executable: "python3",
                                              arguments: [Self.scripts + "/otlp_receiver.py", String(port), received.path],
                                              logPath: received.appending("receiver.log"))
            defer { Task { await receiver.stop() } }
            try await withMesh(peers: 2, arguments: ["--otlp-endpoint", "http://127.0.0.1:\(port)/v1/traces"]) { mesh in
                let path = try mesh.syntheticModel("traced")
                #expect(try await mesh.peers[0].register("traced", storage: path).status == 201)
                // The first request loads the model somewhere, in its own trace; then requests
                // go through the other peer.
                let body = #"{"inputs":[{"name":"INPUT0","shape":[2],"datatype":"FP32","data":[1,2]}]}"#
                let load = Self.trace()
                let first = try await TestHTTP.post(mesh.peers[0].url + "/v2/models/traced/infer", json: body, headers: [("traceparent", load.header)])
                #expect(first.status == 200)
                let entry = try #require(mesh.peers.first { $0.id != first.header("mm-served-by") })
                let holder = try #require(mesh.peers.first { $0.id == first.header("mm-served-by") })
                // The log lines of the load ("loading model", "model loaded") carry its trace id.
                #expect(holder.log.split(separator: "\n").contains { $0.contains("model loaded") && $0.contains(load.id) }, "\(holder.logTail())")

                let rest = Self.trace()
                let reply = try await TestHTTP.post(entry.url + "/v2/models/traced/infer", json: body, headers: [("traceparent", rest.header)])
                #expect(reply.status == 200)
                #expect(reply.header("mm-served-by") == holder.id)

                let grpc = Self.trace()
                let grpcReply = try await entry.withGRPC { client in
                    try await client.infer("traced", metadata: .header("traceparent", grpc.header))
                }
                #expect(grpcReply.servedBy == holder.id, "\(String(describing: grpcReply.error))")

                // Both peers export spans of each trace: the entry its route and hop, the holder the inference.
                let complete = try await eventually(timeout: .seconds(20)) {
                    let exports = Self.exports(in: received)
                    return [rest.id, grpc.id].allSatisfy { id in
                        Self.exported(exports, peer: entry.id, traceID: id, spans: ["mesh.route", "mesh.hop"])
                            && Self.exported(exports, peer: holder.id, traceID: id, spans: ["mesh.infer"])
                    }
                }
                #expect(complete, "\(Self.exports(in: received).count) exports received")
                // The cold miss: the claim in etcd and the load, in the trace of the request that caused them.
                let loadSpans = Self.exports(in: received).flatMap(OTLPSpans.read).filter { $0.traceID == Self.bytes(load.id) }
                #expect(Self.exported(Self.exports(in: received), peer: holder.id, traceID: load.id, spans: ["mesh.claim", "mesh.load", "etcd.claimCopy"]),
                        "\(loadSpans.map { "\($0.service) \($0.name)" }.sorted())")
            }
        }

        @Test func withoutAnEndpointNothingIsTracedAndTraceparentIsIgnored() async throws {
            try await withMesh(peers: 1) { mesh in
                let path = try mesh.syntheticModel("untraced")
                #expect(try await mesh.peers[0].register("untraced", storage: path).status == 201)
                let trace = Self.trace()
                let body = #"{"inputs":[{"name":"INPUT0","shape":[2],"datatype":"FP32","data":[1,2]}]}"#
                #expect(try await TestHTTP.post(mesh.peers[0].url + "/v2/models/untraced/infer", json: body, headers: [("traceparent", trace.header)]).status == 200)
                #expect(!mesh.peers[0].log.contains(trace.id))
                #expect(!mesh.peers[0].log.contains("OTel"), "\(mesh.peers[0].logTail())")
            }
        }
    }
}

/// The spans of an OTLP `ExportTraceServiceRequest` (protobuf), read with the few field numbers
/// needed: resource_spans 1 → resource 1 (attributes 1: key 1, value 2 → string_value 1) and
/// scope_spans 2 → spans 2 (trace_id 1, name 5).
enum OTLPSpans {
    struct Span: Hashable {
        var service: String
        var traceID: [UInt8]
        var name: String
    }

    static func read(_ body: [UInt8]) -> [Span] {
        fields(body[...], number: 1).flatMap { resourceSpans -> [Span] in
            let attributes = fields(resourceSpans, number: 1).flatMap { fields($0, number: 1) }
            let instance = attributes.first { string(fields($0, number: 1).first) == "service.instance.id" }
                .flatMap { fields($0, number: 2).first }.flatMap { string(fields($0, number: 1).first) } ?? ""
            return fields(resourceSpans, number: 2).flatMap { fields($0, number: 2) }.map { span in
                Span(service: instance, traceID: Array(fields(span, number: 1).first ?? []), name: string(fields(span, number: 5).first) ?? "")
            }
        }
    }

    /// The values of length-delimited field `number` of one message (none when it is malformed).
    static func fields(_ message: ArraySlice<UInt8>, number: UInt64) -> [ArraySlice<UInt8>] {
        (try? ProtobufFieldScanner.values(field: number, in: message)) ?? []
    }

    static func string(_ bytes: ArraySlice<UInt8>?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
}
