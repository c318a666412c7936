import EtcdGateway
import Foundation
import MeshCore
import NIOSSL

/// How a peer reaches etcd beyond its endpoints: TLS files and a user, read once at start (a
/// peer does not start on files it cannot use).
enum EtcdAccess {
    static func tls(_ configuration: PeerConfiguration) throws(MeshError) -> TLSConfiguration? {
        guard configuration.etcdCAFile != nil || configuration.etcdCertificateFile != nil else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        do {
            if let ca = configuration.etcdCAFile {
                _ = try NIOSSLCertificate.fromPEMFile(ca)
                tls.trustRoots = .file(ca)
            }
            if let certificate = configuration.etcdCertificateFile, let key = configuration.etcdKeyFile {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
        } catch {
            throw .invalidArgument("cannot use the etcd TLS files (--etcd-ca-file, --etcd-cert-file, --etcd-key-file): \(error)")
        }
        return tls
    }

    static func credentials(_ configuration: PeerConfiguration) throws(MeshError) -> EtcdClient.Configuration.Credentials? {
        guard let username = configuration.etcdUsername, let path = configuration.etcdPasswordFile else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidArgument("the etcd password file \(path) cannot be read (--etcd-password-file)")
        }
        let password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
        guard !password.isEmpty else { throw .invalidArgument("the etcd password file \(path) is empty") }
        return .init(username: username, password: password)
    }
}
