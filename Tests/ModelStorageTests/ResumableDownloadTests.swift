import AsyncHTTPClient
import Crypto
import Foundation
import MeshTestSupport
@testable import ModelStorage
import NIOCore
import Synchronization
import Testing

/// The streaming routine on its own, fed bodies that end early, restart or lie about their bytes.
@Suite(.timeLimit(.minutes(5))) struct ResumableDownloadTests {
    let contents = testBytes(100_000, seed: 31)
    var md5: [UInt8] { Array(Insecure.MD5.hash(data: contents)) }

    func download(in directory: TemporaryDirectory, md5 expected: [UInt8]?, limit: Int64 = 1 << 30) -> ResumableDownload {
        ResumableDownload(
            destination: directory.appending("model.bin"), source: "test://model.bin", expectedSize: Int64(contents.count),
            expectedMD5: expected, budget: ByteBudget(limit: limit, modelDescription: "test://model.bin"),
            retry: RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(1)), logger: LogRecorder().logger("test")
        )
    }

    /// A body that yields `bytes` in chunks and then, when `failing`, breaks like a dropped connection.
    static func body(_ bytes: ArraySlice<UInt8>, failing: Bool) -> HTTPClientResponse.Body {
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        var rest = bytes
        while !rest.isEmpty {
            continuation.yield(ByteBuffer(bytes: rest.prefix(8_192)))
            rest = rest.dropFirst(8_192)
        }
        continuation.finish(throwing: failing ? ChannelError.eof : nil)
        return .stream(stream)
    }

    @Test func resumesFromTheOffsetWhereTheConnectionBroke() async throws {
        let directory = try TemporaryDirectory(prefix: "mesh-download")
        defer { directory.remove() }
        let offsets = Mutex<[Int64]>([])
        let contents = self.contents
        let written = try await download(in: directory, md5: md5).run { offset throws(StorageError) in
            offsets.withLock { $0.append(offset) }
            if offset == 0 {
                return OpenedBody(body: Self.body(contents[0..<40_000], failing: true), startOffset: 0, contentLength: Int64(contents.count))
            }
            return OpenedBody(body: Self.body(contents[Int(offset)...], failing: false), startOffset: offset, contentLength: Int64(contents.count) - offset)
        }
        #expect(written == Int64(contents.count))
        #expect(offsets.withLock { $0 } == [0, 40_000])
        #expect(try readFile(directory.appending("model.bin")) == contents)
    }

    @Test func startsOverWhenTheServerIgnoresTheRange() async throws {
        let directory = try TemporaryDirectory(prefix: "mesh-download")
        defer { directory.remove() }
        let calls = Atomic<Int>(0)
        let contents = self.contents
        _ = try await download(in: directory, md5: md5).run { _ throws(StorageError) in
            let call = calls.wrappingAdd(1, ordering: .relaxed).newValue
            return OpenedBody(body: Self.body(contents[0..<(call == 1 ? 30_000 : contents.count)], failing: call == 1), startOffset: 0, contentLength: Int64(contents.count))
        }
        #expect(calls.load(ordering: .relaxed) == 2)
        #expect(try readFile(directory.appending("model.bin")) == contents)
    }

    @Test func wrongBytesFailTheMD5CheckAndLeaveNoFile() async throws {
        let directory = try TemporaryDirectory(prefix: "mesh-download")
        defer { directory.remove() }
        var corrupted = contents
        corrupted[500] ^= 0xFF
        let body = corrupted
        let error = try await #require(throws: StorageError.self) {
            try await download(in: directory, md5: md5).run { _ throws(StorageError) in
                OpenedBody(body: Self.body(body[...], failing: false), startOffset: 0, contentLength: Int64(body.count))
            }
        }
        #expect(error.reason == .integrity)
        #expect(error.message.contains("MD5"))
        #expect(!FileManager.default.fileExists(atPath: directory.appending("model.bin")))
    }

    @Test func moreBytesThanListedAndAChangedLengthAreRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "mesh-download")
        defer { directory.remove() }
        let longer = contents + [1, 2, 3]
        let tooMany = try await #require(throws: StorageError.self) {
            try await download(in: directory, md5: nil).run { _ throws(StorageError) in
                OpenedBody(body: Self.body(longer[...], failing: false), startOffset: 0, contentLength: nil)
            }
        }
        #expect(tooMany.reason == .integrity)
        let changed = try await #require(throws: StorageError.self) {
            try await download(in: directory, md5: nil).run { _ throws(StorageError) in
                OpenedBody(body: Self.body(longer[...], failing: false), startOffset: 0, contentLength: Int64(longer.count))
            }
        }
        #expect(changed.reason == .changedDuringDownload)
    }

    @Test func budgetStopsTheStreamEarly() async throws {
        let directory = try TemporaryDirectory(prefix: "mesh-download")
        defer { directory.remove() }
        let contents = self.contents
        let error = try await #require(throws: StorageError.self) {
            try await download(in: directory, md5: nil, limit: 20_000).run { _ throws(StorageError) in
                OpenedBody(body: Self.body(contents[...], failing: false), startOffset: 0, contentLength: Int64(contents.count))
            }
        }
        #expect(error.reason == .tooLarge)
        #expect(error.message.contains("20000"))
    }
}

@Suite(.timeLimit(.minutes(5))) struct RetryPolicyTests {
    @Test func retriesServerErrorsAndDroppedConnectionsButNotRefusals() async throws {
        let policy = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(1))
        let logger = LogRecorder().logger("retry")
        let attempts = Atomic<Int>(0)
        let value = try await policy.run("flaky", logger: logger) { attempt throws(StorageError) -> Int in
            attempts.wrappingAdd(1, ordering: .relaxed)
            if attempt == 1 { throw StorageError(.serverError, "503 SlowDown") }
            if attempt == 2 { throw StorageError(.transport, "connection reset") }
            return attempt
        }
        #expect(value == 3)
        #expect(attempts.load(ordering: .relaxed) == 3)

        let refusals = Atomic<Int>(0)
        let refused = await #expect(throws: StorageError.self) {
            try await policy.run("denied", logger: logger) { _ throws(StorageError) -> Int in
                refusals.wrappingAdd(1, ordering: .relaxed)
                throw StorageError(.accessDenied, "AccessDenied")
            }
        }
        #expect(refused?.reason == .accessDenied)
        #expect(refusals.load(ordering: .relaxed) == 1, "a refusal is not retried")

        let exhausted = await #expect(throws: StorageError.self) {
            try await policy.run("down", logger: logger) { _ throws(StorageError) -> Int in throw StorageError(.serverError, "500") }
        }
        #expect(exhausted?.message == "500")
    }

    @Test func backoffDoublesUpToTheCap() {
        let policy = RetryPolicy(maxAttempts: 10, initialBackoff: .milliseconds(100), maxBackoff: .seconds(1))
        for attempt in 1...8 {
            let delay = policy.backoff(afterAttempt: attempt)
            let full = min(Duration.milliseconds(100) * (1 << (attempt - 1)), .seconds(1))
            #expect(delay <= full && delay >= full / 2, "attempt \(attempt): \(delay)")
        }
    }
}
