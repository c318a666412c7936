import MeshTestSupport
import Testing

@Suite struct HarnessTests {
    @Test func startsAndStopsARealEtcd() async throws {
        let etcd = try await EtcdServer.start()
        let pid = try #require(etcd.pid)
        #expect(await etcd.isHealthy())
        await etcd.destroy()
        #expect(kill(pid, 0) != 0, "etcd \(pid) still running after destroy")
    }
}

#if canImport(Glibc)
import Glibc
#endif
