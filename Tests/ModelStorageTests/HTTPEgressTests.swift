import AsyncHTTPClient
import Foundation
import MeshCore
import MeshTestSupport
@testable import ModelStorage
import MetricsTestKit
import NIOCore
import Synchronization
import Testing

/// The egress policy with the system resolver and real loopback servers: registrations' URLs,
/// names, redirects and storage-config entries. Every address here is loopback; refused names
/// are refused before any DNS query.
@Suite(.timeLimit(.minutes(5))) struct HTTPEgressTests {
    static let contents = testBytes(40_000, seed: 33)

    /// An HTTP file server holding `models/m.onnx`.
    static func fileServer() async throws -> HTTPFileServer {
        let server = try await HTTPFileServer.start()
        try FileManager.default.createDirectory(atPath: server.root.appending("models"), withIntermediateDirectories: true)
        try Data(contents).write(to: URL(fileURLWithPath: server.root.appending("models/m.onnx")))
        return server
    }

    /// A storage with its own cache directory, removed by the caller's `cleanUp`.
    final class Storage: Sendable {
        let cache: TemporaryDirectory
        let storage: ModelStorage

        init(_ egress: EgressPolicy, configuration: StorageConfiguration = StorageConfiguration.parse(files: [:])) throws {
            cache = try TemporaryDirectory(prefix: "mesh-egress-cache")
            storage = ModelStorage(
                configuration: StorageConfigurationStore(configuration), cacheDirectory: cache.path,
                limits: StorageLimits(egress: egress, retry: RetryPolicy(maxAttempts: 1)), metricsFactory: TestMetrics()
            )
        }

        func fetch(_ location: StorageLocation) async throws -> FetchedModel {
            try await storage.fetch(location, for: modelID("m"))
        }

        func refusal(_ location: StorageLocation) async throws -> StorageError {
            let error = try await #require(throws: StorageError.self) { try await self.fetch(location) }
            #expect(error.reason == .egressDenied, "\(error)")
            #expect(storage.statistics.downloads == 0)
            return error
        }

        func cleanUp() { cache.remove() }
    }

    /// An IPv6 literal's host is kept without brackets, so the Host header and messages carry
    /// one pair of them.
    @Test func anIPv6AddressIsShownWithOnePairOfBrackets() throws {
        let address = try WebAddress.parse("http://[::1]:8080/m.onnx").get()
        #expect(address.host == "::1")
        #expect(address.hostHeader == "[::1]:8080")
        #expect(address.description == "http://[::1]:8080/m.onnx")
    }

    @Test func theSystemResolverAnswersLocalhostAndNumericFormsWithoutDNS() async throws {
        // /etc/hosts and numeric parsing only: nothing leaves the machine.
        let localhost = try await HostResolver.addresses(of: "localhost")
        #expect(!localhost.isEmpty)
        #expect(localhost.allSatisfy { AddressClass($0) == .loopback })
        #expect(try await HostResolver.addresses(of: "2130706433") == [IPAddress("127.0.0.1")])
        #expect(try await HostResolver.addresses(of: "127.1") == [IPAddress("127.0.0.1")])
    }

    @Test func aRegisteredLoopbackURLIsRefusedByDefaultAndServedWhenAllowed() async throws {
        let server = try await Self.fileServer()
        let location = StorageLocation.uri("\(server.baseURL)/models/m.onnx")

        let closed = try Storage(EgressPolicy())
        defer { closed.cleanUp() }
        let refused = try await closed.refusal(location)
        #expect(refused.message.contains("\(server.baseURL)/models/m.onnx is at 127.0.0.1, a loopback address"))
        #expect(refused.message.contains("add '127.0.0.1' (or '127.0.0.1:\(server.port)' for this port only) to --storage-egress-allow"))

        let allowing = try Storage(try EgressPolicy(allowing: ["127.0.0.1"]))
        defer { allowing.cleanUp() }
        let fetched = try await allowing.fetch(location)
        #expect(try readFile(fetched.path) == Self.contents)

        // The peer's own port stays closed whatever the allow-list says.
        let own = try Storage(try EgressPolicy(allowing: ["127.0.0.1"], ownPorts: [server.port]))
        defer { own.cleanUp() }
        #expect(try await own.refusal(location).message.contains("this peer's own listening port"))
        await server.stop()
    }

    @Test func otherSpellingsOfLoopbackAreRefusedBeforeAnyConnection() async throws {
        let storage = try Storage(EgressPolicy())
        defer { storage.cleanUp() }
        let port = FreePort.next()
        let spellings = [
            "[::1]": "is at ::1, a loopback", "[::ffff:127.0.0.1]": "is at ::ffff:127.0.0.1, a loopback",
            "[::ffff:7f00:1]": "is at ::ffff:127.0.0.1, a loopback", "0.0.0.0": "is at 0.0.0.0, an unspecified",
            "2130706433": "resolves to 127.0.0.1, a loopback", "127.1": "resolves to 127.0.0.1, a loopback",
        ]
        for (host, expected) in spellings {
            let refused = try await storage.refusal(.uri("http://\(host):\(port)/m.onnx"))
            #expect(refused.message.contains(expected), "\(host): \(refused.message)")
        }
    }

    @Test func namesAreResolvedThenCheckedAndAllowedByName() async throws {
        // Served where the system's first answer for localhost points, which is where the
        // pinned connection goes.
        let root = try TemporaryDirectory(prefix: "mesh-egress-names")
        defer { root.remove() }
        try Data(Self.contents).write(to: URL(fileURLWithPath: root.appending("m.onnx")))
        let first = try #require(try await HostResolver.addresses(of: "localhost").first)
        let server = try await LoopbackServer.start(.files(root: root.path), host: "\(first)")
        let location = StorageLocation.uri("http://localhost:\(server.port)/m.onnx")

        let closed = try Storage(EgressPolicy())
        defer { closed.cleanUp() }
        let refused = try await closed.refusal(location)
        #expect(refused.message.contains("http://localhost:\(server.port)/m.onnx resolves to "))
        #expect(refused.message.contains("a loopback address"))
        #expect(refused.message.contains("add 'localhost' or "))

        let allowing = try Storage(try EgressPolicy(allowing: ["localhost:\(server.port)"]))
        defer { allowing.cleanUp() }
        #expect(try readFile(try await allowing.fetch(location).path) == Self.contents)
        await server.stop()
    }

    @Test func theConnectionGoesToTheAddressThatWasChecked() async throws {
        // Served on 127.0.0.2 only; the system resolves localhost to 127.0.0.1 (or ::1), where
        // nothing listens on this port. The gate's resolver answers 127.0.0.2: the request
        // succeeds only if the client connects to that checked answer, not to a new lookup.
        let root = try TemporaryDirectory(prefix: "mesh-egress-pinned")
        defer { root.remove() }
        try Data(Self.contents).write(to: URL(fileURLWithPath: root.appending("m.onnx")))
        let server = try await LoopbackServer.start(.files(root: root.path), host: "127.0.0.2")
        let lookups = Lookups()
        let gate = EgressGate(
            policy: try EgressPolicy(allowing: ["127.0.0.2"]), trustedOrigin: nil,
            group: HTTPClient.shared.eventLoopGroup, requestTimeout: .seconds(5),
            resolve: { (host: String) async throws(StorageError) -> [IPAddress] in
                lookups.count.add(1, ordering: .relaxed)
                guard host == "localhost", let address = IPAddress("127.0.0.2") else { throw StorageError(.transport, "unexpected lookup of \(host)") }
                return [address]
            }
        )
        let url = try WebAddress.parse("http://localhost:\(server.port)/m.onnx").get()
        for _ in 0..<2 {
            let client = try await gate.client(for: url, subject: "HTTP storage \(url)")
            let response = try await client.execute(HTTPClientRequest(url: url.description), timeout: .seconds(5))
            #expect(response.status == .ok)
            #expect(Array(buffer: try await response.body.collect(upTo: 1 << 20)) == Self.contents)
        }
        #expect(lookups.count.load(ordering: .relaxed) == 1, "one lookup per fetch; later requests reuse the checked answer")
        await gate.shutdown()
        await server.stop()
    }

    final class Lookups: Sendable {
        let count = Atomic<Int>(0)
    }

    @Test func redirectTargetsAreCheckedOnEveryHop() async throws {
        let files = try await Self.fileServer()
        let toPort = try await LoopbackServer.start(.redirect(to: files.baseURL))
        let toName = try await LoopbackServer.start(.redirect(to: "http://localhost:\(files.port)"))
        // A metadata service's name is refused before any lookup: nothing resolves it or connects to it.
        let toMetadata = try await LoopbackServer.start(.redirect(to: "http://metadata.google.internal/computeMetadata/v1"))
        let first = try Storage(try EgressPolicy(allowing: ["127.0.0.1:\(toPort.port)", "127.0.0.1:\(toName.port)", "127.0.0.1:\(toMetadata.port)"]))
        defer { first.cleanUp() }

        let port = try await first.refusal(.uri("\(toPort.baseURL)/models/m.onnx"))
        #expect(port.message.contains("HTTP storage \(toPort.baseURL)/models/m.onnx redirected to \(files.baseURL)/models/m.onnx, which is at 127.0.0.1, a loopback address"))
        #expect(port.message.contains("'127.0.0.1:\(files.port)' for this port only"))

        let name = try await first.refusal(.uri("\(toName.baseURL)/models/m.onnx"))
        #expect(name.message.contains("redirected to http://localhost:\(files.port)/models/m.onnx, which resolves to "))

        let metadata = try await first.refusal(.uri("\(toMetadata.baseURL)/models/m.onnx"))
        #expect(metadata.message.contains("names 'metadata.google.internal', a cloud metadata service"))

        // With the target's port allowed too, the same redirect is followed.
        let both = try Storage(try EgressPolicy(allowing: ["127.0.0.1:\(toPort.port)", "127.0.0.1:\(files.port)"]))
        defer { both.cleanUp() }
        #expect(try readFile(try await both.fetch(.uri("\(toPort.baseURL)/models/m.onnx")).path) == Self.contents)

        for server in [toPort, toName, toMetadata] { await server.stop() }
        await files.stop()
    }

    @Test func storageConfigURLsAreTrustedButRedirectsOutOfThemAreChecked() async throws {
        let files = try await Self.fileServer()
        let hop = try await LoopbackServer.start(.redirect(to: files.baseURL))
        let configuration = StorageConfiguration.parse(files: [
            "files": Array(#"{"type":"http","url":"\#(files.baseURL)/models"}"#.utf8),
            "hop": Array(#"{"type":"http","url":"\#(hop.baseURL)/models"}"#.utf8),
        ])
        let storage = try Storage(EgressPolicy(), configuration: configuration)
        defer { storage.cleanUp() }

        // The operator's entry points at loopback: that origin is the operator's to choose.
        #expect(try readFile(try await storage.fetch(.keyed(key: "files", path: "m.onnx")).path) == Self.contents)
        // Its redirect to another origin is not.
        let redirected = try await #require(throws: StorageError.self) {
            try await storage.fetch(.keyed(key: "hop", path: "m.onnx"))
        }
        #expect(redirected.reason == .egressDenied)
        #expect(redirected.message.contains("redirected to \(files.baseURL)/models/m.onnx, which is at 127.0.0.1"))

        await hop.stop()
        await files.stop()
    }
}
