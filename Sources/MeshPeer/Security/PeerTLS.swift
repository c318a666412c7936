import GRPCNIOTransportHTTP2
import Logging
import MeshCore
import NIOCertificateReloading
import NIOSSL

/// A peer's TLS: the certificate its REST and gRPC servers present, re-read from its files while
/// it runs, and how its hops to other peers (which serve TLS too) trust them and present it.
///
/// Peers' certificates must be signed by `--tls-ca-file` and name the address the peer
/// advertises (`--advertise-host`, a DNS or IP subject alternative name): REST hops verify
/// both, gRPC hops the signature.
struct PeerTLS: Sendable {
    /// Re-reads the certificate and key every interval; connections made after a renewal
    /// present the new certificate. Runs as a service of the peer.
    let reloader: TimedCertificateReloader
    /// What the REST server presents and asks of clients.
    let server: TLSConfiguration
    /// What REST hops to other peers present (the same certificate, for peers that ask for one) and trust.
    let client: TLSConfiguration
    /// ``client`` made once, for REST hops' connections.
    let clientContext: NIOSSLContext
    let grpcServer: HTTP2ServerTransport.Posix.TransportSecurity
    let grpcClient: HTTP2ClientTransport.Posix.TransportSecurity

    init(configuration: PeerConfiguration, logger: Logger) throws(MeshError) {
        guard let certificateFile = configuration.tlsCertificateFile, let keyFile = configuration.tlsKeyFile else {
            throw .invalidArgument("TLS needs --tls-cert-file and --tls-key-file")
        }
        do {
            reloader = try TimedCertificateReloader.makeReloaderValidatingSources(configuration: .init(
                refreshInterval: configuration.tlsReloadInterval,
                certificateSource: .init(location: .file(path: certificateFile), format: .pem),
                privateKeySource: .init(location: .file(path: keyFile), format: .pem)
            ) { reloaderConfiguration in
                reloaderConfiguration.onCertificateLoadFailed = { failure in
                    logger.warning("the TLS certificate or key could not be re-read; the previous one stays in use",
                                   metadata: ["certificate": "\(certificateFile)", "error": "\(failure.error)"])
                }
            })
        } catch {
            throw .invalidArgument("cannot use the TLS certificate \(certificateFile) and key \(keyFile): \(error)")
        }
        let roots: NIOSSLTrustRoots
        let grpcRoots: TLSConfig.TrustRootsSource
        if let caFile = configuration.tlsCAFile {
            do {
                _ = try NIOSSLCertificate.fromPEMFile(caFile)
            } catch {
                throw .invalidArgument("cannot read the CA certificates in \(caFile) (--tls-ca-file): \(error)")
            }
            roots = .file(caFile)
            grpcRoots = .certificates([.file(path: caFile, format: .pem)])
        } else {
            roots = .default
            grpcRoots = .systemDefault
        }
        let requireClientCertificates = configuration.tlsRequireClientCertificates
        let reloader = self.reloader
        do {
            var server = try TLSConfiguration.makeServerConfiguration(certificateReloader: reloader)
            server.minimumTLSVersion = .tlsv12
            if requireClientCertificates {
                server.trustRoots = roots
                server.certificateVerification = .noHostnameVerification
            }
            self.server = server
            var client = try TLSConfiguration.makeClientConfiguration(certificateReloader: reloader)
            client.minimumTLSVersion = .tlsv12
            client.trustRoots = roots
            client.certificateVerification = .fullVerification
            self.client = client
            clientContext = try NIOSSLContext(configuration: client)
            grpcServer = try .tls(certificateReloader: reloader) { tls in
                if requireClientCertificates {
                    tls.clientCertificateVerification = .noHostnameVerification
                    tls.trustRoots = grpcRoots
                }
            }
            grpcClient = try .mTLS(certificateReloader: reloader) { tls in
                tls.trustRoots = grpcRoots
                // gRPC dials an IP address without a server name to match; the CA's signature
                // is checked (REST hops check the name too).
                tls.serverCertificateVerification = .noHostnameVerification
            }
        } catch {
            throw .invalidArgument("cannot set up TLS with \(certificateFile) and \(keyFile): \(error)")
        }
    }
}
