import AsyncHTTPClient
import Foundation
import Logging
import MeshCore
import NIOCore
import NIOHTTP1

extension ModelStorage {
    /// GETs the URL, conditionally when a copy is cached (`If-None-Match`/`If-Modified-Since`):
    /// a 304 is a cache hit; a 200 streams the body into the cache. Every connection goes
    /// through the egress policy (``EgressGate``), whose clients live as long as the fetch.
    func fetchFromHTTP(_ source: HTTPSource, identity: String, for model: ModelID) async throws(StorageError) -> FetchedModel {
        let gate = EgressGate(
            policy: limits.egress, trustedOrigin: source.entry?.baseURL,
            group: httpClient.eventLoopGroup, requestTimeout: limits.requestTimeout
        )
        let result: Result<FetchedModel, StorageError>
        do {
            result = .success(try await fetchFromHTTP(source, identity: identity, for: model, through: gate))
        } catch {
            result = .failure(error)
        }
        await gate.shutdown()
        return try result.get()
    }

    private func fetchFromHTTP(
        _ source: HTTPSource, identity: String, for model: ModelID, through gate: EgressGate
    ) async throws(StorageError) -> FetchedModel {
        let cached = state.withLock { $0.index.newestEntry(identity: identity) }
        let shown = source.url.displayName
        let client = HTTPStorageClient(source: source, gate: gate, limits: limits, logger: logger)
        let response = try await limits.retry.run("GET \(shown)", logger: logger) { _ throws(StorageError) in
            try await client.open(validators: cached.map { ($0.etag, $0.lastModified) }, from: 0)
        }
        if response.status == .notModified {
            if let cached, let hit = try await cacheHit(identity: identity, version: cached.version, for: model, storageType: "http") {
                return hit
            }
            throw StorageError(.unexpectedResponse, "\(shown) answered 304 Not Modified, but the cached copy is gone; try again")
        }
        let etag = response.headers.first(name: "etag")
        let lastModified = response.headers.first(name: "last-modified")
        let length = S3Client.contentLength(response)
        let version = HTTPStorageClient.version(etag: etag, lastModified: lastModified, length: length)
        if let cached, cached.version == version,
           let hit = try await cacheHit(identity: identity, version: version, for: model, storageType: "http") {
            return hit
        }
        if let length, length > limits.maxModelBytes {
            throw ByteBudget.tooLarge(shown, limit: limits.maxModelBytes, seen: length)
        }
        let contentName = LocalNames.contentName(forPathEnding: PercentEncoding.decode(source.url.percentEncodedPath) ?? "")
        let limits = self.limits
        let logger = self.logger
        let first = OpenedBody(body: response.body, startOffset: 0, contentLength: length)
        return try await stageAndPublish(
            identity: identity, contentName: contentName, isDirectory: false,
            expectedBytes: length ?? 0, source: shown, storageType: "http", for: model
        ) { staging, budget throws(StorageError) in
            let download = ResumableDownload(
                destination: "\(staging.contentDirectory)/\(contentName)", source: shown,
                expectedSize: length, expectedMD5: nil, budget: budget, retry: limits.retry, logger: logger
            )
            let bytes = try await download.run(open: { offset throws(StorageError) in
                // Resume only when the server can promise the same entity; otherwise start over.
                let validator = etag.flatMap { $0.hasPrefix("W/") ? nil : $0 } ?? lastModified
                let response = try await client.open(validators: nil, from: validator == nil ? 0 : offset, ifRange: validator)
                return try HTTPStorageClient.body(of: response, shown: shown)
            }, first: first)
            return Staged(bytes: bytes, fileCount: 1, etag: etag, lastModified: lastModified, version: version)
        }
    }
}

/// GET requests to HTTP storage, with the entry's headers and TLS settings, following
/// redirects only to allowed hosts and addresses and never carrying the entry's headers to
/// another origin.
struct HTTPStorageClient: Sendable {
    let source: HTTPSource
    let gate: EgressGate
    let limits: StorageLimits
    let logger: Logger

    static let maxRedirects = 5

    func open(
        validators: (etag: String?, lastModified: String?)?,
        from offset: Int64,
        ifRange: String? = nil
    ) async throws(StorageError) -> HTTPClientResponse {
        var address = source.url
        var sendEntryHeaders = true
        for redirects in 0...Self.maxRedirects {
            var request = HTTPClientRequest(url: address.description)
            request.method = .GET
            if sendEntryHeaders {
                for (name, value) in source.headers { request.headers.add(name: name, value: value) }
                if let tls = source.entry?.tlsConfiguration { request.tlsConfiguration = tls }
            }
            if let etag = validators?.etag { request.headers.replaceOrAdd(name: "if-none-match", value: etag) }
            if let lastModified = validators?.lastModified { request.headers.replaceOrAdd(name: "if-modified-since", value: lastModified) }
            if offset > 0 {
                request.headers.replaceOrAdd(name: "range", value: "bytes=\(offset)-")
                if let ifRange { request.headers.replaceOrAdd(name: "if-range", value: ifRange) }
            }
            let httpClient = try await gate.client(for: address, subject: redirects == 0
                ? "HTTP storage \(address.displayName)"
                : "HTTP storage \(source.url.displayName) redirected to \(address.displayName), which")
            let response: HTTPClientResponse
            do {
                response = try await httpClient.execute(request, timeout: TimeAmount(limits.requestTimeout), logger: logger)
            } catch {
                throw TransportErrors.map(error, what: "GET \(address.displayName)")
            }
            guard [301, 302, 303, 307, 308].contains(response.status.code) else {
                return try check(response, address: address)
            }
            guard let location = response.headers.first(name: "location"),
                  let target = URL(string: location, relativeTo: URL(string: address.description))?.absoluteString,
                  case .success(let next) = WebAddress.parse(target)
            else {
                throw StorageError(.unexpectedResponse, "\(address.displayName) answered \(response.status.code) without a usable Location")
            }
            guard limits.isHTTPHostAllowed(next.host) else {
                throw StorageError(.hostNotAllowed, "\(address.displayName) redirected to host '\(next.host)', which is not in this peer's allowed hosts")
            }
            if !next.sameOrigin(as: address) { sendEntryHeaders = false }
            address = next
        }
        throw StorageError(.unexpectedResponse, "\(source.url.displayName) redirected more than \(Self.maxRedirects) times")
    }

    private func check(_ response: HTTPClientResponse, address: WebAddress) throws(StorageError) -> HTTPClientResponse {
        let shown = address.displayName
        let entryName = source.storageKey.map { "storage-config entry '\($0)'" } ?? "a storage-config entry (name it with \"key\")"
        switch response.status.code {
        case 200, 206, 304:
            return response
        case 401, 403:
            throw StorageError(.accessDenied, "HTTP storage \(shown) refused access (HTTP \(response.status.code)); check the headers of \(entryName)")
        case 404, 410:
            throw StorageError(.notFound, "HTTP storage \(shown) has no such model (HTTP \(response.status.code))")
        case 500...599:
            throw StorageError(.serverError, "HTTP storage \(shown) failed with HTTP \(response.status.code)")
        default:
            throw StorageError(.unexpectedResponse, "HTTP storage \(shown) answered HTTP \(response.status.code)")
        }
    }

    static func body(of response: HTTPClientResponse, shown: String) throws(StorageError) -> OpenedBody {
        switch response.status {
        case .ok:
            return OpenedBody(body: response.body, startOffset: 0, contentLength: S3Client.contentLength(response))
        case .partialContent:
            guard let start = S3Client.rangeStart(response) else {
                throw StorageError(.unexpectedResponse, "\(shown) answered 206 without a usable Content-Range")
            }
            return OpenedBody(body: response.body, startOffset: start, contentLength: S3Client.contentLength(response))
        default:
            throw StorageError(.unexpectedResponse, "\(shown) answered HTTP \(response.status.code) to a resumed download")
        }
    }

    /// A strong ETag, or Last-Modified with the length; without either, a version that never
    /// matches again, so an unversioned URL is downloaded on every fetch.
    static func version(etag: String?, lastModified: String?, length: Int64?) -> String {
        if let etag { return "http-etag \(etag)" }
        if let lastModified { return "http-last-modified \(lastModified) \(length.map(String.init) ?? "?")" }
        return "http-unversioned \(UUID().uuidString)"
    }
}

extension WebAddress {
    /// For messages and status: without the query, which may hold a signature or token.
    var displayName: String { origin + percentEncodedPath + (percentEncodedQuery == nil ? "" : "?…") }
}
