import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where a test process runs: on loopback, or on a host of a ``NetworkLab``.
public struct ProcessHost: Sendable, Hashable {
    public let name: String
    /// The address it listens on and is reached at.
    public let address: String
    /// Prepended to its command line (`ip netns exec NS`); empty on loopback.
    public let launcher: [String]

    public static let loopback = ProcessHost(name: "loopback", address: "127.0.0.1", launcher: [])
}

/// A small network of hosts, each a network namespace of its own, that tests cut and heal.
///
/// Hosts hang off a router namespace through veth pairs, one /24 each; the test's own namespace
/// reaches every host through one more veth and a route to the lab's /16, so clients in the test
/// talk to peers as over a real network. A cut is a policy-routing rule in the router that
/// drops packets from one host to another without an answer: connections time out and open
/// ones go silent, as in a real partition, and a one-way cut drops only one direction.
///
/// Loss is an nftables rule in the router that drops a share of a host's packets at random.
///
/// Needs root (CI runs as root) and `ip` (`nft` for loss); ``create(hosts:)`` fails with a
/// message saying so otherwise. ``destroy()`` removes every namespace, link and route it made.
/// (`tc netem` would add delay; kernels without the `sch_netem` module, like this project's CI,
/// cannot, and nftables has no delay.)
public final class NetworkLab: Sendable {
    public let hosts: [ProcessHost]
    private let router: String
    private let rootLink: String
    private let subnet: Int
    private let cuts = Mutex<Set<Cut>>([])
    private let lossy = Mutex<Set<String>>([])
    private let destroyed = Atomic<Bool>(false)

    private struct Cut: Hashable {
        var from: String
        var to: String
    }

    private static let sequence = Atomic<Int>(0)

    /// Creates a host for each name, all reachable from each other and from the test.
    public static func create(hosts names: [String]) throws -> NetworkLab {
        let tag = String(getpid() % 0xFFFF, radix: 16) + "x" + String(sequence.wrappingAdd(1, ordering: .relaxed).oldValue)
        let subnet = try freeSubnet()
        let router = "mml\(tag)r"
        let rootLink = "mml\(tag)u"
        let hosts = names.enumerated().map { index, name in
            ProcessHost(name: name, address: "10.\(subnet).\(index + 1).2", launcher: ["ip", "netns", "exec", "mml\(tag)h\(index)"])
        }
        let lab = NetworkLab(hosts: hosts, router: router, rootLink: rootLink, subnet: subnet)
        do {
            try lab.build(tag: tag)
        } catch {
            lab.destroy()
            throw TestSupportError("""
                cannot build the test network (network namespaces need root and iproute2; CI runs as root): \(error)
                """)
        }
        return lab
    }

    private init(hosts: [ProcessHost], router: String, rootLink: String, subnet: Int) {
        self.hosts = hosts
        self.router = router
        self.rootLink = rootLink
        self.subnet = subnet
    }

    public func host(_ name: String) -> ProcessHost {
        guard let host = hosts.first(where: { $0.name == name }) else { preconditionFailure("no host \(name) in the lab") }
        return host
    }

    // MARK: Faults

    /// Drops packets from `from` to `to`, and back unless `oneWay`.
    public func cut(_ from: String, _ to: String, oneWay: Bool = false) throws {
        try addCut(Cut(from: from, to: to))
        if !oneWay { try addCut(Cut(from: to, to: from)) }
    }

    /// Cuts `host` from each of `others`, both ways.
    public func isolate(_ host: String, from others: [String]) throws {
        for other in others where other != host { try cut(host, other) }
    }

    /// Drops `percent` of the packets `host` sends or receives through the router, at random,
    /// until ``healAll()``: a flaky link, which TCP survives by retransmitting, slowly.
    public func degrade(_ host: String, lossPercent percent: Int) throws {
        precondition((1...100).contains(percent), "loss is a percentage")
        let address = self.host(host).address
        if lossy.withLock({ $0.isEmpty }) {
            try nft(["add", "table", "ip", "lab"])
            try nft(["add", "chain", "ip", "lab", "forward", "{ type filter hook forward priority 0; }"])
        }
        lossy.withLock { _ = $0.insert(host) }
        for direction in ["saddr", "daddr"] {
            try nft(["add", "rule", "ip", "lab", "forward", "ip", direction, address, "numgen", "random", "mod", "100", "<", "\(percent)", "counter", "drop"])
        }
    }

    /// Packets the loss rules dropped since the last ``healAll()``.
    public func droppedPackets() throws -> Int {
        guard !lossy.withLock({ $0.isEmpty }) else { return 0 }
        let listing = try runCommand("ip", ["netns", "exec", router, "nft", "list", "table", "ip", "lab"])
        return listing.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: "counter packets ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }.reduce(0, +)
    }

    /// Removes every cut and every loss.
    public func healAll() throws {
        for cut in cuts.withLock({ $0 }) { try removeCut(cut) }
        if lossy.withLock({ hosts in defer { hosts.removeAll() }; return !hosts.isEmpty }) {
            try nft(["delete", "table", "ip", "lab"])
        }
    }

    private func addCut(_ cut: Cut) throws {
        guard cuts.withLock({ $0.insert(cut).inserted }) else { return }
        try ip(["-n", router, "rule", "add", "from", host(cut.from).address, "to", host(cut.to).address, "blackhole"])
    }

    private func removeCut(_ cut: Cut) throws {
        guard cuts.withLock({ $0.remove(cut) != nil }) else { return }
        try ip(["-n", router, "rule", "del", "from", host(cut.from).address, "to", host(cut.to).address, "blackhole"])
    }

    // MARK: Building and removing

    private func build(tag: String) throws {
        try ip(["netns", "add", router])
        try ip(["-n", router, "link", "set", "lo", "up"])
        _ = try runCommand("ip", ["netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        for (index, host) in hosts.enumerated() {
            let namespace = host.launcher[3]
            let link = "mml\(tag)v\(index)"
            try ip(["netns", "add", namespace])
            try ip(["-n", namespace, "link", "set", "lo", "up"])
            try ip(["link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", namespace])
            try ip(["link", "set", link, "netns", router])
            try ip(["-n", router, "addr", "add", "10.\(subnet).\(index + 1).1/24", "dev", link])
            try ip(["-n", router, "link", "set", link, "up"])
            try ip(["-n", namespace, "addr", "add", "\(host.address)/24", "dev", "eth0"])
            try ip(["-n", namespace, "link", "set", "eth0", "up"])
            try ip(["-n", namespace, "route", "add", "default", "via", "10.\(subnet).\(index + 1).1"])
        }
        try ip(["link", "add", rootLink, "type", "veth", "peer", "name", "uplink", "netns", router])
        try ip(["addr", "add", "10.\(subnet).0.1/24", "dev", rootLink])
        try ip(["link", "set", rootLink, "up"])
        try ip(["-n", router, "addr", "add", "10.\(subnet).0.2/24", "dev", "uplink"])
        try ip(["-n", router, "link", "set", "uplink", "up"])
        try ip(["route", "add", "10.\(subnet).0.0/16", "via", "10.\(subnet).0.2"])
    }

    /// Removes the namespaces (their veths go with them) and the uplink (its route goes with it).
    /// Safe to call twice; processes running in the hosts must be stopped first.
    public func destroy() {
        guard !destroyed.exchange(true, ordering: .relaxed) else { return }
        try? ip(["link", "del", rootLink])
        for host in hosts { try? ip(["netns", "del", host.launcher[3]]) }
        try? ip(["netns", "del", router])
    }

    private func ip(_ arguments: [String]) throws {
        _ = try runCommand("ip", arguments)
    }

    private func nft(_ arguments: [String]) throws {
        do {
            _ = try runCommand("ip", ["netns", "exec", router, "nft"] + arguments)
        } catch {
            throw TestSupportError("nft failed (loss needs nftables: apt-get install nftables): \(error)")
        }
    }

    /// A second octet for 10.x.0.0/16 that no route of this machine uses yet.
    private static func freeSubnet() throws -> Int {
        let routes = (try? runCommand("ip", ["route"])) ?? ""
        for _ in 0..<50 {
            let candidate = Int.random(in: 64...127)
            if !routes.contains("10.\(candidate).") { return candidate }
        }
        throw TestSupportError("no free 10.x.0.0/16 subnet for the test network")
    }
}
