@testable import EtcdGateway
import Testing

/// How an endpoint URL becomes the server and path the unary calls go to.
@Suite struct EndpointTests {
    @Test func hostsPortsSchemesAndPathPrefixesAreRead() {
        func parse(_ text: String) -> UnaryTransport.Endpoint { UnaryTransport.parse(EtcdClient.normalize(text)) }
        let plain = parse("127.0.0.1:2379")
        #expect(plain.server == .init(host: "127.0.0.1", port: 2379) && !plain.secure && plain.pathPrefix == "")
        let secure = parse("https://etcd-0.etcd.svc:2379/")
        #expect(secure.server == .init(host: "etcd-0.etcd.svc", port: 2379) && secure.secure && secure.pathPrefix == "")
        let v6 = parse("http://[::1]:23790")
        #expect(v6.server == .init(host: "::1", port: 23790) && v6.pathPrefix == "")
        let proxied = parse("https://gateway.example/etcd")
        #expect(proxied.server == .init(host: "gateway.example", port: 443) && proxied.pathPrefix == "/etcd")
    }
}
