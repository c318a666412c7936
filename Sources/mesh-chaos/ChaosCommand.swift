import ArgumentParser
import Foundation
import MeshTestSupport

@main
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh-chaos",
        abstract: "Drive a workload through a local mesh while killing or freezing peers (and etcd members) at random; report what clients saw."
    )

    @Option(help: "Peers") var peers = 3
    @Option(help: "etcd members (1 or 3)") var etcdMembers = 1
    @Option(help: "Registered models") var models = 120
    @Option(help: "Requests per second offered") var rate = 100.0
    @Option(help: "Run time in seconds") var duration = 60
    @Option(help: "Seconds between kills") var killEvery = 10
    @Option(help: "Seconds before a killed peer is restarted") var restartAfter = 2
    @Flag(help: "Also kill etcd members (needs --etcd-members 3); same as adding kill-etcd to --faults") var killEtcd = false
    @Flag(help: "Run etcd and each peer in a network namespace of its own (needs root), for the partition and loss faults")
    var networkLab = false
    @Option(help: "Faults in turn, comma-separated: kill, freeze, kill-etcd, freeze-etcd (need --etcd-members 3), partition, loss (need --network-lab)")
    var faults = "kill"
    @Option(help: "Percent of a peer's packets the loss fault drops, each way") var lossPercent = 10
    @Option(help: "Write the report (Markdown) here as well") var report: String?

    func run() async throws {
        var options = ChaosOptions()
        options.peers = peers
        options.etcdMembers = etcdMembers
        options.models = models
        options.rate = rate
        options.duration = .seconds(duration)
        options.killEvery = .seconds(killEvery)
        options.restartAfter = .seconds(restartAfter)
        options.faults = try faults.split(separator: ",").map { name in
            guard let fault = ChaosFault(rawValue: String(name)) else { throw ValidationError("unknown fault \"\(name)\"") }
            return fault
        }
        if killEtcd { options.killEtcd = true }
        options.networkLab = networkLab
        guard (1...100).contains(lossPercent) else { throw ValidationError("--loss-percent must be 1 to 100") }
        options.lossPercent = lossPercent
        let result = try await ChaosRun.run(options) { print($0) }
        print("\n" + result.markdown)
        if let report { try Data((result.markdown + "\n").utf8).write(to: URL(fileURLWithPath: report)) }
        if !result.lostRegistrations.isEmpty || !result.unservable.isEmpty || !result.copyRecordMismatches.isEmpty {
            print("\nFAILED: \(result.lostRegistrations.count) lost registrations, \(result.unservable.count) unservable models, "
                + "\(result.copyRecordMismatches.count) peers whose copy records differ from their holdings")
            throw ExitCode(1)
        }
    }
}
