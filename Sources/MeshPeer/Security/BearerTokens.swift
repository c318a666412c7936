import Crypto
import Foundation
import Logging
import MeshCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The bearer tokens this peer accepts, read from `--auth-tokens-file` and re-read every
/// interval, so a rotated Secret takes effect without a restart. A file that no longer parses
/// is logged and the previous tokens stay in force.
final class BearerTokens: Service, Sendable {
    let path: String
    let interval: Duration
    private let table: Mutex<BearerTokenTable>
    private let logger: Logger

    /// Reads the file once; a peer does not start on a file it cannot use.
    init(path: String, interval: Duration, logger: Logger) throws(MeshError) {
        self.path = path
        self.interval = interval
        self.logger = logger
        table = Mutex(try Self.parse(Self.contents(of: path), path: path))
    }

    /// The grant of the token in an `authorization` header value.
    func grant(authorization: String?) throws(MeshError) -> BearerTokenTable.Grant {
        guard let authorization, !authorization.isEmpty else {
            throw .unauthenticated("this mesh asks for a bearer token: send the header 'authorization: Bearer <token>' (meshctl: --token or MESHCTL_TOKEN)")
        }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw .unauthenticated("the authorization header must be 'Bearer <token>'")
        }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        let digest = SHA256.hash(data: Array(token.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
        guard let grant = table.withLock({ $0.grants[digest] }) else {
            throw .unauthenticated("the bearer token is not one this mesh accepts (unknown, mistyped or revoked)")
        }
        return grant
    }

    func run() async throws {
        // Cancellation (shutdown) ends the loop; it is not a failure.
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: self.interval)
                await self.reload()
            }
        }
    }

    func reload() async {
        do {
            let fresh = try await Self.read(path)
            let changed = table.withLock { table in
                defer { table = fresh }
                return table != fresh
            }
            if changed { logger.info("bearer tokens re-read", metadata: ["file": "\(path)", "tokens": "\(fresh.grants.count)"]) }
        } catch {
            logger.warning("the tokens file could not be re-read; the previous tokens stay in force", metadata: ["file": "\(path)", "error": "\(error)"])
        }
    }

    private static func read(_ path: String) async throws(MeshError) -> BearerTokenTable {
        let text: Result<String, MeshError>
        do {
            text = try await NIOThreadPool.singleton.runIfActive { Result { () throws(MeshError) in try contents(of: path) } }
        } catch {
            throw .unavailable("cannot read the tokens file \(path): \(error)")
        }
        return try parse(text.get(), path: path)
    }

    private static func contents(of path: String) throws(MeshError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidArgument("the tokens file \(path) does not exist or is not readable (--auth-tokens-file)")
        }
        guard data.count <= 1 << 20 else { throw .invalidArgument("the tokens file \(path) is larger than 1 MiB") }
        return String(decoding: data, as: UTF8.self)
    }

    private static func parse(_ text: String, path: String) throws(MeshError) -> BearerTokenTable {
        do {
            return try BearerTokenTable.parse(text)
        } catch {
            throw .invalidArgument("the tokens file \(path), \(error)")
        }
    }
}
