@testable import ModelStorage
import Testing

/// Addresses, ranges and classes as the egress policy reads them: parsing and classification
/// only, so no address here is ever resolved or connected to.
@Suite(.timeLimit(.minutes(5))) struct EgressAddressTests {
    func address(_ text: String) throws -> IPAddress { try #require(IPAddress(text), "\(text) should parse") }

    @Test func strictLiteralsParseAndPrintCanonically() throws {
        #expect(try address("10.0.0.1").description == "10.0.0.1")
        #expect(try address("[::1]").description == "::1")
        #expect(try address("FE80:0:0::1").description == "fe80::1")
        #expect(try address("::ffff:7f00:1").description == "::ffff:127.0.0.1")
        #expect(try address("::1").withPort(80) == "[::1]:80")
        // Loose IPv4 forms and scoped IPv6 are names to the policy: they are resolved, then checked.
        for name in ["127.1", "2130706433", "0x7f.0.0.1", "fe80::1%eth0", "localhost", ""] {
            #expect(IPAddress(name) == nil, "\(name)")
        }
    }

    @Test func networksContainTheirRangeAndNothingElse() throws {
        let private172 = try #require(IPNetwork("172.16.0.0/12"))
        #expect(private172.contains(try address("172.31.255.255")))
        #expect(!private172.contains(try address("172.32.0.0")))
        #expect(!private172.contains(try address("::ffff:172.16.0.1")), "families are compared as they are")
        #expect(try #require(IPNetwork("10.1.2.3/8")).description == "10.0.0.0/8", "host bits are cleared")
        let everything = try #require(IPNetwork("0.0.0.0/0"))
        #expect(everything.contains(try address("203.0.113.9")))
        #expect(!everything.contains(try address("2001:db8::1")))
        let uniqueLocal = try #require(IPNetwork("fc00::/7"))
        #expect(uniqueLocal.contains(try address("fdff::1")))
        #expect(!uniqueLocal.contains(try address("fe00::1")))
        for malformed in ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "/8"] {
            #expect(IPNetwork(malformed) == nil, "\(malformed)")
        }
    }

    @Test func ipv6FormsOfIPv4AddressesAreJudgedAsTheIPv4Address() throws {
        #expect(try address("::ffff:169.254.169.254").embeddedIPv4 == IPAddress("169.254.169.254"))
        #expect(try address("64:ff9b::7f00:1").embeddedIPv4 == IPAddress("127.0.0.1"), "NAT64")
        #expect(try address("::10.0.0.1").embeddedIPv4 == IPAddress("10.0.0.1"), "IPv4-compatible")
        #expect(try address("::").embeddedIPv4 == nil)
        #expect(try address("::1").embeddedIPv4 == nil)
        #expect(try address("2001:db8::a9fe:a9fe").embeddedIPv4 == nil)
    }

    @Test(arguments: [
        ("127.0.0.1", AddressClass.loopback), ("127.255.255.254", .loopback), ("::1", .loopback),
        ("169.254.0.1", .linkLocal), ("fe80::1", .linkLocal), ("febf:ffff::1", .linkLocal),
        ("169.254.169.254", .cloudMetadata), ("169.254.170.2", .cloudMetadata),
        ("fd00:ec2::254", .cloudMetadata), ("100.100.100.200", .cloudMetadata),
        ("0.0.0.0", .unspecified), ("0.1.2.3", .unspecified), ("::", .unspecified),
        ("224.0.0.1", .multicast), ("239.255.255.250", .multicast), ("ff02::1", .multicast),
        ("255.255.255.255", .broadcastOrReserved), ("240.0.0.1", .broadcastOrReserved),
        ("10.1.2.3", .privateNetwork), ("172.16.0.1", .privateNetwork), ("172.31.255.255", .privateNetwork),
        ("192.168.1.1", .privateNetwork), ("100.64.0.1", .privateNetwork), ("fd12:3456::1", .privateNetwork),
        ("fec0::1", .privateNetwork),
        ("::ffff:127.0.0.1", .loopback), ("::ffff:7f00:1", .loopback), ("::ffff:0.0.0.0", .unspecified),
        ("::ffff:169.254.169.254", .cloudMetadata), ("64:ff9b::a9fe:a9fe", .cloudMetadata), ("::127.0.0.1", .loopback),
        ("::ffff:10.0.0.1", .privateNetwork),
        ("203.0.113.7", .publicInternet), ("172.32.0.1", .publicInternet), ("169.253.255.255", .publicInternet),
        ("2001:db8::1", .publicInternet), ("::ffff:203.0.113.7", .publicInternet),
    ])
    func addressClasses(_ text: String, _ expected: AddressClass) throws {
        #expect(AddressClass(try address(text)) == expected)
    }

    @Test func interfaceAddressesIncludeLoopback() {
        #expect(EgressPolicy.localInterfaceAddresses().contains("127.0.0.1"))
    }
}
