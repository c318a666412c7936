import Foundation
import NIOCore
import NIOSSL
import X509

/// The DNS and IP subject alternative names of a client certificate, as the peer gate compares
/// them with peers' advertised hosts.
enum CertificateNames {
    static func of(_ certificate: Certificate?) -> Set<String> {
        guard let certificate, let names = try? certificate.extensions.subjectAlternativeNames else { return [] }
        var result: Set<String> = []
        for name in names {
            switch name {
            case .dnsName(let dns): result.insert(dns.lowercased())
            case .ipAddress(let bytes): if let text = ipText(Array(bytes.bytes)) { result.insert(text) }
            default: break
            }
        }
        return result
    }

    /// The names of the certificate the TLS connection `channel` carries (none on plaintext).
    static func of(channel: any Channel) async -> Set<String> {
        guard let presented = try? await channel.nioSSL_peerCertificate().get(),
              let certificate = try? Certificate(derEncoded: presented.toDERBytes()) else { return [] }
        return of(certificate)
    }

    private static func ipText(_ bytes: [UInt8]) -> String? {
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let converted = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &text, socklen_t(text.count)) }
        guard converted != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
