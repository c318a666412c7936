/// The etcd v3 JSON-gateway client. See EtcdClient.
