import EtcdGateway
import Logging

/// Runs `body` against a fresh single-member etcd and a client for it; both are gone afterwards.
public func withEtcd<T>(
    _ body: (EtcdServer, EtcdClient) async throws -> T
) async throws -> T {
    let server = try await EtcdServer.start()
    let client = EtcdClient(EtcdClient.Configuration(endpoints: [server.clientURL]), logger: testLogger("etcd-client"))
    do {
        let result = try await body(server, client)
        try? await client.shutdown()
        await server.destroy()
        return result
    } catch {
        try? await client.shutdown()
        await server.destroy()
        throw error
    }
}

/// Runs `body` against a fresh three-member etcd cluster and a client that knows every member.
public func withEtcdCluster<T>(
    size: Int = 3,
    _ body: (EtcdCluster, EtcdClient) async throws -> T
) async throws -> T {
    let cluster = try await EtcdCluster.start(size: size)
    let client = EtcdClient(EtcdClient.Configuration(endpoints: cluster.clientURLs), logger: testLogger("etcd-client"))
    do {
        let result = try await body(cluster, client)
        try? await client.shutdown()
        await cluster.destroy()
        return result
    } catch {
        try? await client.shutdown()
        await cluster.destroy()
        throw error
    }
}

/// A logger for test code: quiet unless `MESH_TEST_LOG` names a level.
public func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    if let level = ProcessInfoEnvironment.value("MESH_TEST_LOG").flatMap(Logger.Level.init(rawValue:)) {
        logger.logLevel = level
    } else {
        logger.logLevel = .critical
    }
    return logger
}

enum ProcessInfoEnvironment {
    static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }
}

#if canImport(Glibc)
import Glibc
#endif
