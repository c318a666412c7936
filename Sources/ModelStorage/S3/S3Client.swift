import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The S3 operations model storage needs, signed with SigV4, on AsyncHTTPClient.
///
/// Reads (`ListObjectsV2`, `GetObject`) are what the peer uses; `CreateBucket`, `PutObject` and
/// `DeleteObject` exist for tests, demos and tools that put models into a bucket.
public struct S3Client: Sendable {
    let entry: S3StorageEntry
    /// The storage-config key the entry came from, named in errors so users know which to fix.
    let storageKey: String?
    let httpClient: HTTPClient
    let requestTimeout: Duration
    let retry: RetryPolicy
    let logger: Logger

    public init(
        entry: S3StorageEntry,
        storageKey: String? = nil,
        httpClient: HTTPClient = .shared,
        requestTimeout: Duration = .seconds(30),
        retry: RetryPolicy = RetryPolicy(),
        logger: Logger = Logger(label: "modelmesh.storage.s3")
    ) {
        self.entry = entry
        self.storageKey = storageKey
        self.httpClient = httpClient
        self.requestTimeout = requestTimeout
        self.retry = retry
        self.logger = logger
    }

    // MARK: - Operations

    /// Every object whose key starts with `prefix`, following continuation tokens.
    func listObjects(bucket: String, prefix: String, maxObjects: Int) async throws(StorageError) -> [S3ObjectSummary] {
        var objects: [S3ObjectSummary] = []
        var token: String?
        repeat {
            var query: [(name: String, value: String)] = [
                ("list-type", "2"), ("prefix", prefix), ("encoding-type", "url"), ("max-keys", "1000"),
            ]
            if let token { query.append(("continuation-token", token)) }
            let page = try await retry.run("ListObjectsV2 s3://\(bucket)/\(prefix)", logger: logger) { _ throws(StorageError) in
                let response = try await execute(.GET, bucket: bucket, key: nil, query: query)
                let body = try await Self.collect(response, limit: 16 << 20, what: "ListObjectsV2 s3://\(bucket)/\(prefix)")
                guard response.status == .ok else {
                    throw error(status: response.status, body: body, operation: "ListObjectsV2", bucket: bucket, key: prefix)
                }
                guard let page = S3ListPage.parse(body) else {
                    throw StorageError(.unexpectedResponse, "ListObjectsV2 s3://\(bucket)/\(prefix) at \(entry.endpointURL) answered with a document that is not a ListBucketResult")
                }
                return page
            }
            objects += page.objects
            if objects.count > maxObjects {
                throw StorageError(.tooLarge, "s3://\(bucket)/\(prefix) holds more than \(maxObjects) objects; a model directory may have at most \(maxObjects) files")
            }
            token = page.nextContinuationToken
        } while token != nil
        return objects
    }

    /// Starts `GetObject` from byte `offset` (a `Range` request when it is not 0), insisting on
    /// `etag` so that a changed object is never stitched onto an old one.
    func openObject(bucket: String, key: String, etag: String?, from offset: Int64) async throws(StorageError) -> OpenedBody {
        var headers: [(name: String, value: String)] = []
        if offset > 0 { headers.append(("range", "bytes=\(offset)-")) }
        if let etag, !etag.isEmpty { headers.append(("if-match", "\"\(etag)\"")) }
        let response = try await execute(.GET, bucket: bucket, key: key, headers: headers)
        let encrypted = response.headers.first(name: "x-amz-server-side-encryption") == "aws:kms"
            || response.headers.contains(name: "x-amz-server-side-encryption-customer-algorithm")
        switch response.status {
        case .ok:
            return OpenedBody(body: response.body, startOffset: 0, contentLength: Self.contentLength(response), etagIsNotMD5: encrypted)
        case .partialContent:
            guard let start = Self.rangeStart(response) else {
                throw StorageError(.unexpectedResponse, "GetObject s3://\(bucket)/\(key) answered 206 without a usable Content-Range")
            }
            return OpenedBody(body: response.body, startOffset: start, contentLength: Self.contentLength(response), etagIsNotMD5: encrypted)
        case .preconditionFailed:
            throw StorageError(.changedDuringDownload, "s3://\(bucket)/\(key) changed while it was being downloaded (its ETag is no longer \(etag ?? "?"))")
        default:
            let body = try await Self.collect(response, limit: 1 << 16, what: "GetObject s3://\(bucket)/\(key)")
            throw error(status: response.status, body: body, operation: "GetObject", bucket: bucket, key: key)
        }
    }

    /// The object's ETag and size, or nil when there is no such key.
    func headObject(bucket: String, key: String) async throws(StorageError) -> S3ObjectSummary? {
        try await retry.run("HeadObject s3://\(bucket)/\(key)", logger: logger) { _ throws(StorageError) in
            let response = try await execute(.HEAD, bucket: bucket, key: key)
            _ = try await Self.collect(response, limit: 1 << 16, what: "HeadObject s3://\(bucket)/\(key)")
            switch response.status {
            case .ok:
                guard let size = Self.contentLength(response) else {
                    throw StorageError(.unexpectedResponse, "HeadObject s3://\(bucket)/\(key) answered without Content-Length")
                }
                return S3ObjectSummary(key: key, etag: response.headers.first(name: "etag").map(ETag.unquoted) ?? "", size: size)
            case .notFound:
                return nil
            default:
                throw error(status: response.status, body: "", operation: "HeadObject", bucket: bucket, key: key)
            }
        }
    }

    public func createBucket(_ bucket: String) async throws(StorageError) {
        var body: ByteBuffer?
        if entry.region != "us-east-1" {
            body = ByteBuffer(string: "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(entry.region)</LocationConstraint></CreateBucketConfiguration>")
        }
        let response = try await execute(.PUT, bucket: bucket, key: nil, body: body)
        let text = try await Self.collect(response, limit: 1 << 16, what: "CreateBucket \(bucket)")
        guard response.status == .ok else {
            throw error(status: response.status, body: text, operation: "CreateBucket", bucket: bucket, key: nil)
        }
    }

    /// Uploads `contents` in one request; returns the object's ETag without quotes.
    @discardableResult
    public func putObject(bucket: String, key: String, contents: [UInt8]) async throws(StorageError) -> String {
        let response = try await execute(.PUT, bucket: bucket, key: key, body: ByteBuffer(bytes: contents))
        let text = try await Self.collect(response, limit: 1 << 16, what: "PutObject s3://\(bucket)/\(key)")
        guard response.status == .ok else {
            throw error(status: response.status, body: text, operation: "PutObject", bucket: bucket, key: key)
        }
        return response.headers.first(name: "etag").map(ETag.unquoted) ?? ""
    }

    public func deleteObject(bucket: String, key: String) async throws(StorageError) {
        let response = try await execute(.DELETE, bucket: bucket, key: key)
        let text = try await Self.collect(response, limit: 1 << 16, what: "DeleteObject s3://\(bucket)/\(key)")
        guard response.status == .noContent || response.status == .ok else {
            throw error(status: response.status, body: text, operation: "DeleteObject", bucket: bucket, key: key)
        }
    }

    // MARK: - Requests

    /// Where a request for `bucket`/`key` goes: the URL path (percent-encoded) and the host.
    func address(bucket: String, key: String?) -> (url: WebAddress, canonicalURI: String) {
        let encodedKey = key.map { PercentEncoding.encode($0, keepingSlashes: true) }
        let base = entry.endpoint
        if entry.addressing == .virtualHosted, S3Naming.isVirtualHostable(bucket, overTLS: base.scheme == "https") {
            let path = base.percentEncodedPath + "/" + (encodedKey ?? "")
            return (WebAddress(scheme: base.scheme, host: "\(bucket).\(base.host)", port: base.port, percentEncodedPath: path), path)
        }
        let path = base.percentEncodedPath + "/" + PercentEncoding.encode(bucket, keepingSlashes: false)
            + (encodedKey.map { "/" + $0 } ?? "")
        return (base.replacingPath(path), path)
    }

    func execute(
        _ method: HTTPMethod,
        bucket: String,
        key: String?,
        query: [(name: String, value: String)] = [],
        headers extraHeaders: [(name: String, value: String)] = [],
        body: ByteBuffer? = nil
    ) async throws(StorageError) -> HTTPClientResponse {
        let (address, canonicalURI) = address(bucket: bucket, key: key)
        let payloadHash = body.map { buffer in
            buffer.withUnsafeReadableBytes { Hex.string(SHA256.hash(data: $0)) }
        } ?? SigV4Signer.emptyPayloadHash
        let date = AmzDate(secondsSince1970: Int64(Date().timeIntervalSince1970))
        // Only `host` and `x-amz-*` are signed, as S3 requires; `range` and `if-match` travel
        // unsigned, so proxies and servers that normalise them cannot break the signature.
        let signedHeaders: [(name: String, value: String)] = [
            ("host", address.hostHeader),
            ("x-amz-date", date.stamp),
            ("x-amz-content-sha256", payloadHash),
        ]
        var headers = signedHeaders + extraHeaders
        if let credentials = entry.credentials {
            let signer = SigV4Signer(credentials: credentials, region: entry.region, service: "s3")
            let signature = signer.sign(
                method: method.rawValue, canonicalURI: canonicalURI, query: query,
                headers: signedHeaders, payloadHash: payloadHash, date: date
            )
            headers.append(("authorization", signature.authorization))
        }
        let queryString = SigV4Signer.canonicalQuery(query)
        var request = HTTPClientRequest(url: address.replacingPath(address.percentEncodedPath, query: queryString.isEmpty ? nil : queryString).description)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(body)
            request.headers.add(name: "content-length", value: String(body.readableBytes))
        }
        if let tls = entry.tlsConfiguration { request.tlsConfiguration = tls }
        do {
            return try await httpClient.execute(request, timeout: TimeAmount(requestTimeout), logger: logger)
        } catch {
            throw TransportErrors.map(error, what: "\(method.rawValue) \(address.origin) (bucket \(bucket))")
        }
    }

    // MARK: - Responses

    static func collect(_ response: HTTPClientResponse, limit: Int, what: String) async throws(StorageError) -> String {
        do {
            var buffer = try await response.body.collect(upTo: limit)
            return buffer.readString(length: buffer.readableBytes) ?? ""
        } catch {
            throw TransportErrors.map(error, what: what)
        }
    }

    static func contentLength(_ response: HTTPClientResponse) -> Int64? {
        response.headers.first(name: "content-length").flatMap { Int64($0) }
    }

    /// The first byte position of `Content-Range: bytes 100-199/200`.
    static func rangeStart(_ response: HTTPClientResponse) -> Int64? {
        guard let value = response.headers.first(name: "content-range"), value.hasPrefix("bytes ") else { return nil }
        return Int64(value.dropFirst("bytes ".count).prefix { $0 != "-" })
    }

    /// An S3 error response as a `StorageError` naming the operation, bucket, key and S3 code,
    /// with a hint at what to change. Credentials never appear: S3 does not send the secret, and
    /// the server's message is cut short and cleaned of control characters.
    func error(status: HTTPResponseStatus, body: String, operation: String, bucket: String, key: String?) -> StorageError {
        let parsed = S3ErrorBody.parse(body)
        let code = parsed.code ?? Self.codeForBodylessStatus(status)
        let target = "s3://\(bucket)" + (key.map { "/\($0)" } ?? "")
        let entryName = storageKey.map { "storage-config entry '\($0)'" } ?? "the storage-config entry"
        var message = "S3 \(operation) \(target) at \(entry.endpointURL) failed with \(code) (HTTP \(status.code))"
        if let detail = parsed.message, !detail.isEmpty { message += ": \(Self.clean(detail))" }
        let reason: StorageError.Reason
        switch code {
        case "AccessDenied", "AllAccessDisabled", "AccountProblem":
            reason = .accessDenied
            message += "; the credentials of \(entryName) are not allowed to read this bucket or key"
        case "SignatureDoesNotMatch":
            reason = .invalidCredentials
            message += "; check secret_access_key (and region '\(entry.region)') of \(entryName)"
        case "InvalidAccessKeyId", "InvalidToken", "ExpiredToken":
            reason = .invalidCredentials
            message += "; check access_key_id of \(entryName)"
        case "NoSuchBucket":
            reason = .notFound
            message += "; bucket '\(bucket)' does not exist at this endpoint"
        case "NoSuchKey":
            reason = .notFound
        case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
            reason = .invalidConfiguration
            message += "; the bucket lives in another region than '\(entry.region)': set region in \(entryName)"
        case "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout":
            reason = .serverError
        default:
            reason = status.code >= 500 ? .serverError : .unexpectedResponse
        }
        return StorageError(reason, message, s3ErrorCode: code)
    }

    private static func codeForBodylessStatus(_ status: HTTPResponseStatus) -> String {
        switch status.code {
        case 403: return "AccessDenied"
        case 404: return "NotFound"
        case 500...599: return "InternalError"
        default: return "HTTP\(status.code)"
        }
    }

    static func clean(_ text: String) -> String {
        let cut = text.count > 300 ? String(text.prefix(300)) + "…" : text
        return String(String.UnicodeScalarView(cut.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
    }
}

/// The start of a response body: from `startOffset` on, `contentLength` bytes (when announced).
struct OpenedBody: Sendable {
    let body: HTTPClientResponse.Body
    let startOffset: Int64
    let contentLength: Int64?
    /// S3 objects encrypted with KMS or customer keys have ETags that are not their MD5.
    var etagIsNotMD5 = false
}
