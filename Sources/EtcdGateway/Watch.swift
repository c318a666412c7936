import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// One change seen by a watch.
public struct WatchEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable { case put, delete }
    public var kind: Kind
    /// For a delete, only the key and the deletion's `modRevision` are set.
    public var kv: KeyValue
    /// The key before the change, when the watch asked for it and history still had it.
    public var previous: KeyValue?
}

/// A batch of events delivered together (changes of one or more transactions, in order), or a
/// progress report with no events saying the watch has seen everything up to `revision`.
public struct WatchBatch: Sendable {
    public var revision: Int64
    public var events: [WatchEvent]
}

/// Options for ``EtcdClient/watch(_:from:prevKV:)``.
public struct WatchOptions: Sendable {
    /// Delay before the first reconnection attempt; doubles up to ``maxBackoff``.
    public var initialBackoff: Duration = .milliseconds(100)
    public var maxBackoff: Duration = .seconds(2)
    /// Ask etcd to send progress reports on idle watches.
    public var progressNotify = true

    public init() {}
}

extension EtcdClient {
    /// Watches a key or range from `revision` (0: from now on).
    ///
    /// The sequence survives dropped connections and etcd restarts: it reconnects, to another
    /// endpoint when needed, and resumes after the last revision it delivered, so no event is lost
    /// or repeated. It throws `EtcdError.compacted` when history it still needs has been compacted
    /// (re-read the range, then watch again from the read's revision + 1), and ends when the
    /// iterating task is cancelled.
    public func watch(_ range: KeyRange, from revision: Int64 = 0, prevKV: Bool = false, options: WatchOptions = WatchOptions()) -> EtcdWatch {
        EtcdWatch(client: self, range: range, startRevision: revision, prevKV: prevKV, options: options)
    }
}

public struct EtcdWatch: AsyncSequence, Sendable {
    public typealias Element = WatchBatch

    let client: EtcdClient
    let range: KeyRange
    let startRevision: Int64
    let prevKV: Bool
    let options: WatchOptions

    public func makeAsyncIterator() -> Iterator {
        Iterator(watch: self, nextRevision: startRevision)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let watch: EtcdWatch
        /// The first revision not yet delivered; 0 until the first watch has been created from "now".
        var nextRevision: Int64
        var stream: HTTPClientResponse.Body.AsyncIterator?
        var streamEndpoint = ""
        var pending: [UInt8] = []
        var backoff: Duration?
        var endpointCursor = 0

        init(watch: EtcdWatch, nextRevision: Int64) {
            self.watch = watch
            self.nextRevision = nextRevision
        }

        public mutating func next() async throws -> WatchBatch? {
            while !Task.isCancelled {
                if stream == nil {
                    guard await connect() else { continue }
                }
                do {
                    if let batch = try await readBatch() { return batch }
                } catch let error as EtcdError {
                    throw error
                } catch {
                    if Task.isCancelled { return nil }
                    watch.client.logger.info("etcd watch interrupted, resuming", metadata: [
                        "endpoint": "\(streamEndpoint)", "range": "\(watch.range)", "next_revision": "\(nextRevision)", "reason": "\(error)",
                    ])
                    drop()
                }
            }
            return nil
        }

        private mutating func drop() {
            stream = nil
            pending.removeAll(keepingCapacity: true)
        }

        /// Opens a watch stream on the next endpoint to try; false (after a pause) when that failed.
        private mutating func connect() async -> Bool {
            if let backoff {
                do { try await Task.sleep(for: backoff) } catch { return false }
            }
            let client = watch.client
            let order = client.endpointOrder()
            let index = order[endpointCursor % order.count]
            endpointCursor += 1
            let endpoint = client.endpoints[index]
            var request = HTTPClientRequest(url: endpoint + "/v3/watch")
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            let token = try? await client.currentAuthToken()
            if let token { request.headers.add(name: "authorization", value: token) }
            let create = WireWatchCreate(create_request: .init(
                key: WireBytes(watch.range.key),
                range_end: watch.range.rangeEnd.map(WireBytes.init),
                start_revision: nextRevision > 0 ? WireInt(nextRevision) : nil,
                progress_notify: watch.options.progressNotify ? true : nil,
                prev_kv: watch.prevKV ? true : nil
            ))
            do {
                request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(create)))
                let response = try await client.http.execute(request, deadline: .distantFuture, logger: nil)
                guard response.status == .ok else {
                    let body = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
                    let error = EtcdClient.serverError(endpoint: endpoint, status: response.status, body: body, requestedRevision: nextRevision)
                    if error.isInvalidAuthToken { client.forgetAuthToken(token) }
                    throw error
                }
                stream = response.body.makeAsyncIterator()
                streamEndpoint = endpoint
                pending.removeAll(keepingCapacity: true)
                return true
            } catch {
                let next = Swift.min((backoff ?? watch.options.initialBackoff / 2) * 2, watch.options.maxBackoff)
                backoff = next
                if !Task.isCancelled {
                    client.logger.debug("etcd watch could not connect", metadata: ["endpoint": "\(endpoint)", "reason": "\(error)"])
                }
                return false
            }
        }

        /// Reads lines until one yields something to deliver. Nil means "keep going".
        private mutating func readBatch() async throws -> WatchBatch? {
            while true {
                if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Array(pending[..<newline])
                    pending.removeSubrange(...newline)
                    if let batch = try handle(line: line) { return batch }
                    continue
                }
                guard var iterator = stream else { return nil }
                let chunk = try await iterator.next()
                stream = iterator
                guard let chunk else {
                    // The server ended the stream (restart, member stopped): resume elsewhere.
                    throw WatchStreamEnded()
                }
                pending.append(contentsOf: chunk.readableBytesView)
            }
        }

        private mutating func handle(line: [UInt8]) throws -> WatchBatch? {
            guard case .result(let batch) = try WatchLine.read(line, endpoint: streamEndpoint, nextRevision: &nextRevision) else { return nil }
            backoff = nil
            return batch
        }
    }
}

/// What one line of a watch stream says, and the revision the watch resumes from after it.
enum WatchLine {
    /// A blank line or a message without a result.
    case nothing
    /// A result from etcd: a batch to deliver, or nil for one that delivers nothing (created, seen).
    case result(WatchBatch?)

    static func read(_ line: [UInt8], endpoint: String, nextRevision: inout Int64) throws -> WatchLine {
        guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) else { return .nothing }
        let message: WireWatchMessage
        do {
            message = try JSONDecoder().decode(WireWatchMessage.self, from: Data(line))
        } catch {
            throw EtcdError.malformedResponse(endpoint: endpoint, detail: "watch: \(error)")
        }
        if let error = message.error {
            throw EtcdClient.mapServerError(endpoint: endpoint, code: error.code ?? -1, message: error.text, requestedRevision: nextRevision)
        }
        guard let result = message.result else { return .nothing }
        let headerRevision = result.header.header.revision
        if let compact = result.compact_revision?.value, compact > 0 {
            throw EtcdError.compacted(requestedRevision: nextRevision, compactRevision: compact)
        }
        if result.canceled == true {
            throw EtcdError.server(endpoint: endpoint, code: -1, message: "watch cancelled: \(result.cancel_reason ?? "no reason given")")
        }
        if result.created == true {
            // Watching "from now": everything up to the creation revision counts as seen.
            if nextRevision == 0 { nextRevision = try after(headerRevision, endpoint: endpoint) }
            return .result(nil)
        }
        let resumeAfter = nextRevision
        let events = (result.events ?? []).compactMap { wire -> WatchEvent? in
            guard let kv = wire.kv?.keyValue, kv.modRevision >= resumeAfter else { return nil }
            return WatchEvent(kind: wire.type == "DELETE" ? .delete : .put, kv: kv, previous: wire.prev_kv?.keyValue)
        }
        if let last = events.last {
            nextRevision = try after(last.kv.modRevision, endpoint: endpoint)
            return .result(WatchBatch(revision: last.kv.modRevision, events: events))
        }
        if result.events?.isEmpty ?? true, headerRevision >= nextRevision {
            // A progress report: nothing in range changed up to the header's revision.
            nextRevision = try after(headerRevision, endpoint: endpoint)
            return .result(WatchBatch(revision: headerRevision, events: []))
        }
        return .result(nil)
    }

    /// The revision to resume from after `revision`. etcd's revisions stay far below Int64.max;
    /// one at the maximum comes from a broken or hostile server, and must not trap the peer.
    static func after(_ revision: Int64, endpoint: String) throws -> Int64 {
        guard revision < .max else {
            throw EtcdError.malformedResponse(endpoint: endpoint, detail: "watch: revision \(revision) has no successor")
        }
        return revision + 1
    }
}

struct WatchStreamEnded: Error {}

struct WireWatchCreate: Encodable {
    struct Create: Encodable {
        var key: WireBytes
        var range_end: WireBytes?
        var start_revision: WireInt?
        var progress_notify: Bool?
        var prev_kv: Bool?
    }
    var create_request: Create
}

struct WireWatchMessage: Decodable {
    struct Result: Decodable {
        var header: WireHeader?
        var watch_id: WireInt?
        var created: Bool?
        var canceled: Bool?
        var compact_revision: WireInt?
        var cancel_reason: String?
        var events: [Event]?
    }

    struct Event: Decodable {
        var type: String?
        var kv: WireKeyValue?
        var prev_kv: WireKeyValue?
    }

    var result: Result?
    var error: WireError?
}
