import Foundation
import ModelStorage

extension PeerConfiguration {
    /// Where HTTP storage may go: the defaults of ``EgressPolicy`` plus `--storage-egress-allow`;
    /// never this peer's own ports, never etcd (even when its address is allowed).
    func egressPolicy() throws(StorageError) -> EgressPolicy {
        let etcd = etcdEndpoints.compactMap { endpoint -> String? in
            guard let url = URL(string: endpoint), let host = url.host, let port = url.port else { return nil }
            return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
        return try EgressPolicy(
            allowing: storageEgressAllow, denying: etcd, refusesPrivateNetworks: storageEgressDenyPrivate,
            ownPorts: Set([httpPort] + (grpcPort.map { [$0] } ?? [])),
            ownAddresses: [advertiseHost] + EgressPolicy.localInterfaceAddresses(),
            allowSetting: "--storage-egress-allow (MM_STORAGE_EGRESS_ALLOW)"
        )
    }
}
