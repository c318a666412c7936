import Foundation

/// A throw-away certificate authority made with the `openssl` command, issuing certificates laid
/// out as cert-manager writes a TLS Secret: a directory with `tls.crt`, `tls.key` and `ca.crt`.
public struct TestCertificateAuthority: Sendable {
    public let directory: TemporaryDirectory
    public var certificatePath: String { directory.appending("ca.crt") }
    private var keyPath: String { directory.appending("ca.key") }

    public static func make() throws -> TestCertificateAuthority {
        let directory = try TemporaryDirectory(prefix: "mesh-ca")
        let authority = TestCertificateAuthority(directory: directory)
        _ = try runCommand("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-keyout", authority.keyPath, "-out", authority.certificatePath, "-subj", "/CN=swift-model-mesh test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        return authority
    }

    /// Issues a certificate for `name` valid for `ips` and `dnsNames` (server and client use)
    /// into `<directory>/<name>/`, replacing the files atomically if they exist (a renewal).
    /// Without `commonName` the subject has none: etcd's JSON gateway refuses client
    /// certificates with a Common Name. Returns the directory.
    @discardableResult
    public func issue(_ name: String, ips: [String] = ["127.0.0.1"], dnsNames: [String] = ["localhost"], commonName: Bool = true) throws -> String {
        let secret = directory.appending(name)
        try FileManager.default.createDirectory(atPath: secret, withIntermediateDirectories: true)
        let work = try TemporaryDirectory(prefix: "mesh-issue")
        defer { work.remove() }
        let names = (ips.map { "IP:\($0)" } + dnsNames.map { "DNS:\($0)" }).joined(separator: ",")
        try Data("""
            subjectAltName=\(names)
            extendedKeyUsage=serverAuth,clientAuth
            basicConstraints=CA:FALSE

            """.utf8).write(to: URL(fileURLWithPath: work.appending("ext.cnf")))
        _ = try runCommand("openssl", [
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", work.appending("tls.key"), "-out", work.appending("tls.csr"), "-subj", commonName ? "/CN=\(name)" : "/O=swift-model-mesh",
        ])
        _ = try runCommand("openssl", [
            "x509", "-req", "-in", work.appending("tls.csr"), "-CA", certificatePath, "-CAkey", keyPath,
            "-set_serial", "0x" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16),
            "-days", "2", "-out", work.appending("tls.crt"), "-extfile", work.appending("ext.cnf"),
        ])
        try? FileManager.default.removeItem(atPath: secret + "/ca.crt")
        try FileManager.default.copyItem(atPath: certificatePath, toPath: secret + "/ca.crt")
        // Key first, then certificate: a reader between the two renames fails to pair them and
        // keeps its previous pair rather than using a mismatched one.
        for file in ["tls.key", "tls.crt"] {
            guard rename(work.appending(file), secret + "/" + file) == 0 else {
                throw TestSupportError("cannot move \(file) into \(secret): errno \(errno)")
            }
        }
        return secret
    }

    /// The serial number of the certificate a TLS server at `host:port` presents, as `openssl`
    /// prints it (hex).
    public func servedSerial(host: String = "127.0.0.1", port: Int) throws -> String {
        let output = try runCommand("bash", ["-c", """
            openssl s_client -connect \(host):\(port) -CAfile \(certificatePath) </dev/null 2>/dev/null | openssl x509 -noout -serial
            """])
        return output.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
    }

    /// The serial number of the certificate in `<directory>/<name>/tls.crt`.
    public func serial(of name: String) throws -> String {
        try runCommand("openssl", ["x509", "-noout", "-serial", "-in", directory.appending(name) + "/tls.crt"])
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
    }

    public func remove() { directory.remove() }
}
