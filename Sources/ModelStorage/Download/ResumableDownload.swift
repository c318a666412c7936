import AsyncHTTPClient
import Crypto
import Logging
import NIOCore
import NIOFileSystem

/// Streams one object into one file, chunk by chunk, so a model never sits in memory.
///
/// A dropped connection is retried from where it broke (a `Range` request); if the server sends
/// the whole object instead, the file starts over. The byte count is checked against the
/// expected size as the bytes arrive, the model's byte budget stops oversized downloads at once,
/// and a single-part ETag's MD5 is checked at the end.
struct ResumableDownload: Sendable {
    let destination: String
    /// What the download is, for errors and logs (`s3://bucket/key`, a URL).
    let source: String
    let expectedSize: Int64?
    let expectedMD5: [UInt8]?
    let budget: ByteBudget
    let retry: RetryPolicy
    let logger: Logger

    /// Opens the object from a byte offset (0 for the first attempt).
    typealias Opener = @Sendable (_ offset: Int64) async throws(StorageError) -> OpenedBody

    /// Returns the number of bytes written.
    func run(open: Opener, first: OpenedBody? = nil) async throws(StorageError) -> Int64 {
        do {
            return try await FileSystem.shared.withFileHandle(
                forWritingAt: FilePath(destination),
                options: .newFile(replaceExisting: true)
            ) { handle in
                try await fill(handle, open: open, first: first)
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw TransportErrors.map(error, what: "writing \(destination)")
        }
    }

    private func fill(_ handle: WriteFileHandle, open: Opener, first: OpenedBody?) async throws(StorageError) -> Int64 {
        var written: Int64 = 0
        var digest = Insecure.MD5()
        var attempt = 1
        var pending = first
        var checkDigest = expectedMD5 != nil
        while true {
            var writer = handle.bufferedWriter(startingAtAbsoluteOffset: written)
            do throws(StorageError) {
                let opened: OpenedBody
                if let first = pending {
                    opened = first
                    pending = nil
                } else {
                    opened = try await open(written)
                }
                if opened.etagIsNotMD5 { checkDigest = false }
                if opened.startOffset != written {
                    // The server sent the object from another offset (usually all of it): start over.
                    guard opened.startOffset == 0 else {
                        throw StorageError(.unexpectedResponse, "\(source): asked for bytes from \(written), the server sent them from \(opened.startOffset)")
                    }
                    try await truncate(handle)
                    budget.refund(written)
                    written = 0
                    digest = Insecure.MD5()
                    writer = handle.bufferedWriter(startingAtAbsoluteOffset: 0)
                }
                if let expectedSize, let length = opened.contentLength, written + length != expectedSize {
                    throw StorageError(.changedDuringDownload, "\(source) is \(written + length) bytes now, \(expectedSize) when it was listed; it changed during the download")
                }
                var iterator = opened.body.makeAsyncIterator()
                while let chunk = try await next(&iterator) {
                    let count = Int64(chunk.readableBytes)
                    if let expectedSize, written + count > expectedSize {
                        throw StorageError(.integrity, "\(source) sent more than the \(expectedSize) bytes it was listed with")
                    }
                    try budget.consume(count)
                    chunk.withUnsafeReadableBytes { digest.update(bufferPointer: $0) }
                    try await write(chunk, with: &writer)
                    written += count
                }
                try await flush(&writer)
                if let expectedSize, written < expectedSize {
                    throw StorageError(.transport, "\(source): the connection ended after \(written) of \(expectedSize) bytes")
                }
                break
            } catch where error.isRetryable && attempt < retry.maxAttempts {
                // Keep what arrived intact: the next attempt asks only for the rest.
                try await flush(&writer)
                let delay = retry.backoff(afterAttempt: attempt)
                logger.notice("download interrupted; resuming", metadata: [
                    "source": "\(source)", "bytes": "\(written)", "attempt": "\(attempt)", "error": "\(error)",
                ])
                try await RetryPolicy.sleep(delay)
                attempt += 1
            }
        }
        if checkDigest, let expectedMD5 {
            let actual = Array(digest.finalize())
            guard actual == expectedMD5 else {
                throw StorageError(.integrity, "\(source): the downloaded bytes have MD5 \(Hex.string(actual)), the ETag says \(Hex.string(expectedMD5)); the copy was discarded")
            }
        }
        return written
    }

    private func next(_ iterator: inout HTTPClientResponse.Body.AsyncIterator) async throws(StorageError) -> ByteBuffer? {
        do {
            return try await iterator.next()
        } catch {
            throw TransportErrors.map(error, what: "reading \(source)")
        }
    }

    private func write(_ chunk: ByteBuffer, with writer: inout BufferedWriter<WriteFileHandle>) async throws(StorageError) {
        do {
            try await writer.write(contentsOf: chunk)
        } catch {
            throw StorageError.localIO("writing", path: destination, error)
        }
    }

    private func flush(_ writer: inout BufferedWriter<WriteFileHandle>) async throws(StorageError) {
        do {
            try await writer.flush()
        } catch {
            throw StorageError.localIO("writing", path: destination, error)
        }
    }

    private func truncate(_ handle: WriteFileHandle) async throws(StorageError) {
        do {
            try await handle.resize(to: .bytes(0))
        } catch {
            throw StorageError.localIO("truncating", path: destination, error)
        }
    }
}
