import Foundation

/// A throw-away certificate and key for `127.0.0.1`, made with the `openssl` command.
public struct SelfSignedCertificate: Sendable {
    public let certificatePath: String
    public let keyPath: String
    public let pem: String

    public static func make(in directory: TemporaryDirectory) async throws -> SelfSignedCertificate {
        let certificatePath = directory.appending("server.pem")
        let keyPath = directory.appending("server.key")
        let process = try ManagedProcess(
            name: "openssl", executable: "openssl",
            arguments: [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-keyout", keyPath, "-out", certificatePath,
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ],
            logPath: directory.appending("openssl.log")
        )
        guard await process.waitForExit(timeout: .seconds(30)), process.exitStatus == 0 else {
            throw TestSupportError("openssl could not make a certificate:\n\(process.logTail())")
        }
        let pem = try String(contentsOfFile: certificatePath, encoding: .utf8)
        return SelfSignedCertificate(certificatePath: certificatePath, keyPath: keyPath, pem: pem)
    }
}
