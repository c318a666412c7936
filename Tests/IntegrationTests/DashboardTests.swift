import Foundation
import MeshTestSupport
import OpenInference
import Testing

extension Integration {
    /// The Grafana dashboard (cluster/grafana) and the Prometheus scrape configuration
    /// (cluster/prometheus): the dashboard shows every item it is for, each series it queries is
    /// one real peers serve, and the scrape jobs find the peers of cluster/k8s and of
    /// cluster/local/mesh.
    @Suite struct Dashboard {
        static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        static let dashboardFile = repo + "/cluster/grafana/model-mesh.json"
        static let prometheusDirectory = repo + "/cluster/prometheus"

        /// What the dashboard is for, each with a series a panel must query.
        static let required: [(item: String, series: String)] = [
            ("request rate by model and handling", "modelmesh_api_request_total"),
            ("request latency", "modelmesh_api_request_milliseconds_bucket"),
            ("loads", "modelmesh_loadmodel_total"),
            ("evictions", "modelmesh_model_evicted"),
            ("LRU age", "modelmesh_instance_lru_age_seconds"),
            ("memory used", "modelmesh_instance_used_bytes"),
            ("memory capacity", "modelmesh_instance_capacity_bytes"),
            ("copies per model", "modelmesh_model_copies"),
            ("gossip age", "modelmesh_gossip_report_age_seconds"),
            ("etcd latency", "modelmesh_etcd_request_milliseconds_bucket"),
            ("inference threads' pending computations", "modelmesh_inference_threads_pending"),
            ("wait for an inference thread", "modelmesh_inference_thread_wait_milliseconds_bucket"),
        ]

        @Test func everySeriesTheDashboardQueriesIsServedByRealPeers() async throws {
            let dashboard = try Self.dashboard()
            let all = Self.seriesNames(in: Self.panels(of: dashboard).flatMap(\.exprs) + Self.variableQueries(of: dashboard))
            #expect(all.count >= 12, "\(all.sorted())")
            // The inference threads' series appear once a model computed; that model comes last,
            // after the copies are counted.
            let threads = all.filter { $0.hasPrefix("modelmesh_inference_") }
            let queried = all.subtracting(threads)
            #expect(threads.count >= 2, "\(all.sorted())")
            // Room for one 4 MiB model per peer: the third model evicts one used seconds before
            // (within the churn guard, so it counts as recently used too).
            try await withMesh(peers: 2, arguments: ["--capacity", "6Mi"]) { mesh in
                let size = 4 << 20
                for name in ["first", "second", "third"] {
                    let path = try mesh.syntheticModel(name, json: #"{"sizeBytes": \#(size)}"#)
                    #expect(try await mesh.peers[0].register(name, storage: path, extra: #", "sizeHintBytes": \#(size)"#).status == 201)
                }
                let broken = try mesh.syntheticModel("broken", json: #"{"failLoad": true, "sizeBytes": 1048576}"#)
                #expect(try await mesh.peers[0].register("broken", storage: broken, extra: #", "sizeHintBytes": 1048576"#).status == 201)
                for name in ["first", "second", "third"] {
                    let result = try await mesh.peers[0].infer(name)
                    #expect(result.status == 200, "\(name): \(result.error ?? "")")
                }
                #expect(try await mesh.peers[1].infer("broken").status == 503)
                // Through both peers: the holder of "third" serves it, the other forwards to it.
                for _ in 0..<3 {
                    for peer in mesh.peers { #expect(try await peer.infer("third").status == 200) }
                }

                var missing: [String] = []
                var text = ""
                let complete = try await eventually {
                    text = try await Self.scrape(mesh.peers)
                    let lines = text.split(separator: "\n")
                    missing = queried.filter { !Self.serves($0, in: lines) }.sorted()
                    return missing.isEmpty
                }
                #expect(complete, "the dashboard queries series no peer serves: \(missing)")
                #expect(text.contains(#"method="infer",handling="local""#) && text.contains(#"method="infer",handling="forwarded""#))
                for operation in ["range", "txn", "put", "lease_grant", "lease_keepalive"] {
                    #expect(text.contains(#"modelmesh_etcd_request_milliseconds_count{operation="\#(operation)"}"#), "no etcd \(operation) timed")
                }

                // Each peer reports the mesh's copies: two loaded (one 4 MiB model per peer), one
                // of them or both "third"; the evicted model's series is gone rather than left
                // behind. And each holds a live report from the other, at most five intervals old.
                var report: [String] = []
                let agreed = try await eventually {
                    var views: [(loaded: Double, third: Double, unheard: Double, age: Double)] = []
                    for peer in mesh.peers {
                        let peerText = try await TestHTTP.get(peer.url + "/metrics").text
                        views.append((
                            loaded: MeshPeerProcess.sum(of: "modelmesh_model_copies", labels: #"state="loaded""#, in: peerText),
                            third: MeshPeerProcess.sum(of: "modelmesh_model_copies", labels: #"modelId="third",state="loaded""#, in: peerText),
                            unheard: MeshPeerProcess.sum(of: "modelmesh_gossip_reports_missing", in: peerText),
                            age: MeshPeerProcess.sum(of: "modelmesh_gossip_report_age_seconds", in: peerText)
                        ))
                    }
                    report = zip(mesh.peers, views).map { peer, view in
                        "\(peer.id): \(view.loaded) loaded copies, \(view.third) of third, \(view.unheard) peers unheard, oldest report \(view.age) s"
                    }
                    return views.allSatisfy { $0.loaded == 2 && $0.third >= 1 && $0.unheard == 0 && $0.age <= 5 }
                }
                #expect(agreed, "\(report)")

                let computes = try mesh.syntheticModel("computes", json: #"{"computeMillis": 2, "sizeBytes": 1048576}"#)
                #expect(try await mesh.peers[0].register("computes", storage: computes, extra: #", "sizeHintBytes": 1048576"#).status == 201)
                #expect(try await mesh.peers[0].infer("computes").status == 200)
                let computed = try await eventually {
                    let lines = try await Self.scrape(mesh.peers).split(separator: "\n")
                    missing = threads.filter { !Self.serves($0, in: lines) }.sorted()
                    return missing.isEmpty
                }
                #expect(computed, "the dashboard queries inference-thread series no peer serves: \(missing)")
            }
        }

        @Test func panelsShowEveryItemFromTheDataSourceVariable() throws {
            let dashboard = try Self.dashboard()
            let variables = dashboard["templating"]?["list"]?.arrayValue ?? []
            let dataSource = variables.first { $0["name"]?.stringValue == "DS_PROMETHEUS" }
            #expect(dataSource?["type"]?.stringValue == "datasource")
            #expect(dataSource?["query"]?.stringValue == "prometheus")
            #expect(variables.contains { $0["name"]?.stringValue == "peer" && $0["type"]?.stringValue == "query" })

            let all = Self.panels(of: dashboard)
            #expect(Set(all.compactMap { $0.object["id"]?.int64Value }).count == all.count, "panel ids must be unique")
            let panels = all.filter { $0.type != "row" }
            #expect(panels.count >= 10)
            for panel in panels {
                #expect(!panel.exprs.isEmpty, "\(panel.title) queries nothing")
                let sources = [panel.object["datasource"]] + (panel.object["targets"]?.arrayValue ?? []).map { $0["datasource"] }
                #expect(sources.allSatisfy { $0?["type"]?.stringValue == "prometheus" && $0?["uid"]?.stringValue == "${DS_PROMETHEUS}" },
                        "\(panel.title) does not read the DS_PROMETHEUS variable")
            }
            for (item, series) in Self.required {
                #expect(panels.contains { Self.seriesNames(in: $0.exprs).contains(series) }, "no panel shows \(item) (\(series))")
            }
            let exprs = panels.flatMap(\.exprs)
            for (quantile, series) in [("0.5", "modelmesh_api_request_milliseconds_bucket"), ("0.99", "modelmesh_api_request_milliseconds_bucket"),
                                       ("0.99", "modelmesh_etcd_request_milliseconds_bucket")] {
                #expect(exprs.contains { $0.contains("histogram_quantile(\(quantile),") && $0.contains(series) }, "no p\(quantile) of \(series)")
            }
            #expect(exprs.contains { $0.contains("sum by (modelId, handling)") && $0.contains("modelmesh_api_request_total") })
            // The hit ratio compares local with forwarded handling.
            #expect(panels.contains { panel in
                panel.title.lowercased().contains("hit ratio")
                    && panel.exprs.contains { $0.contains(#"handling="local""#) && $0.contains(#"handling="forwarded""#) }
            })
            // Every peer sees the same copies: the mesh's count is the max over peers, not the sum.
            #expect(exprs.contains { $0.contains("max by (modelId, state) (modelmesh_model_copies") })
            #expect(exprs.filter { $0.contains(#"peer=~"$peer""#) }.count >= 10)
        }

        @Test func prometheusScrapesTheStatefulSetsPeersAndTheLocalMesh() throws {
            let config = try #require(try KubernetesManifests.load(["prometheus.yaml"], in: Self.prometheusDirectory).first).object
            let jobs = config["scrape_configs"]?.arrayValue ?? []
            func job(_ name: String) -> JSONValue? { jobs.first { $0["job_name"]?.stringValue == name } }

            // Kubernetes: pod discovery in the kustomization's namespace, keeping the peers' http port.
            let pods = try #require(job("model-mesh"))
            #expect(pods["metrics_path"]?.stringValue == "/metrics")
            let discovery = pods["kubernetes_sd_configs"]?.arrayValue ?? []
            #expect(discovery.count == 1)
            #expect(discovery.first?["role"]?.stringValue == "pod")
            let cluster = try KubernetesManifests.cluster()
            let namespace = try cluster.one("Namespace").name
            #expect(discovery.first?["namespaces"]?["names"]?.arrayValue?.compactMap(\.stringValue) == [namespace])
            let peers = cluster.statefulSet("mesh")
            let podLabels = peers.spec["template"]?["metadata"]?["labels"]
            for selector in discovery.first?["selectors"]?.arrayValue ?? [] {
                let requirements = (selector["label"]?.stringValue ?? "").split(separator: ",").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
                #expect(requirements.allSatisfy { $0.count == 2 && podLabels?[$0[0]]?.stringValue == $0[1] }, "\(requirements)")
            }
            let rules = pods["relabel_configs"]?.arrayValue ?? []
            let kept = try Self.discovered(peers, namespace: namespace).compactMap { try Self.relabel($0, by: rules) }
            #expect(kept.count == 1, "\(kept)")
            #expect(kept.first?["__meta_kubernetes_pod_container_port_number"] == "8008")
            #expect(kept.first?["peer"] == "mesh-0")
            #expect(try Self.discovered(cluster.statefulSet("etcd"), namespace: namespace).compactMap { try Self.relabel($0, by: rules) }.isEmpty)

            // The local mesh: peer i on 8008 + i, three by default, as cluster/local/mesh starts them.
            let local = try #require(job("model-mesh-local"))
            #expect(local["metrics_path"]?.stringValue == "/metrics")
            let groups = local["static_configs"]?.arrayValue ?? []
            #expect(groups.flatMap { ($0["targets"]?.arrayValue ?? []).compactMap(\.stringValue) } == (0..<3).map { "127.0.0.1:\(8008 + $0)" })
            #expect(groups.map { $0["labels"]?["peer"]?.stringValue ?? "" } == (0..<3).map { "mesh-\($0)" })
            let script = try String(contentsOfFile: Self.repo + "/cluster/local/mesh", encoding: .utf8)
            #expect(script.contains(#"base_port="${MESH_BASE_PORT:-8008}""#))
            #expect(script.contains("peers=3 members=3"))
            #expect(script.contains(#"name="mesh-$1""#))
        }

        // MARK: Reading the dashboard

        struct Panel {
            let object: JSONValue
            var title: String { object["title"]?.stringValue ?? "" }
            var type: String { object["type"]?.stringValue ?? "" }
            var exprs: [String] { (object["targets"]?.arrayValue ?? []).compactMap { $0["expr"]?.stringValue } }
        }

        static func dashboard() throws -> JSONValue {
            let data = try #require(FileManager.default.contents(atPath: dashboardFile), "cannot read \(dashboardFile)")
            return try JSONParser.parse(Array(data))
        }

        /// Every panel, those inside rows included.
        static func panels(of dashboard: JSONValue) -> [Panel] {
            func flatten(_ list: [JSONValue]) -> [JSONValue] {
                list.flatMap { [$0] + flatten($0["panels"]?.arrayValue ?? []) }
            }
            return flatten(dashboard["panels"]?.arrayValue ?? []).map { Panel(object: $0) }
        }

        /// The queries of the template variables that ask Prometheus.
        static func variableQueries(of dashboard: JSONValue) -> [String] {
            (dashboard["templating"]?["list"]?.arrayValue ?? [])
                .filter { $0["type"]?.stringValue == "query" }
                .compactMap { $0["query"]?.stringValue ?? $0["query"]?["query"]?.stringValue }
        }

        /// The metric names in PromQL queries.
        static func seriesNames(in queries: [String]) -> Set<String> {
            Set(queries.flatMap { query in query.matches(of: /modelmesh_[a-z0-9_]+/).map { String($0.output) } })
        }

        /// Whether Prometheus text (split in lines) has samples of `name`.
        static func serves(_ name: String, in lines: [Substring]) -> Bool {
            lines.contains { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
        }

        /// All peers' /metrics, one after the other.
        static func scrape(_ peers: [MeshPeerProcess]) async throws -> String {
            var text = ""
            for peer in peers { text += try await TestHTTP.get(peer.url + "/metrics").text + "\n" }
            return text
        }

        // MARK: Prometheus's Kubernetes discovery, offline

        /// The targets pod discovery finds for the first pod of `set`: one per container port,
        /// with the meta labels the relabelling reads.
        static func discovered(_ set: KubernetesManifests.Resource, namespace: String) -> [[String: String]] {
            var pod = ["__meta_kubernetes_namespace": namespace, "__meta_kubernetes_pod_name": set.name + "-0", "__meta_kubernetes_pod_phase": "Running"]
            for (key, value) in set.spec["template"]?["metadata"]?["labels"]?.objectValue ?? [] {
                let sanitized = String(key.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
                pod["__meta_kubernetes_pod_label_" + sanitized] = value.stringValue ?? ""
            }
            return (set.pod["containers"]?.arrayValue ?? []).flatMap { container in
                KubernetesManifests.ports(of: container).map { name, number in
                    pod.merging(["__address__": "10.0.0.1:\(number)", "__meta_kubernetes_pod_container_port_name": name,
                                 "__meta_kubernetes_pod_container_port_number": String(number)]) { $1 }
                }
            }
        }

        /// A target's labels after Prometheus's relabelling `rules` (keep, drop, and copying the
        /// source labels into a target label), or nil when the target is dropped.
        static func relabel(_ labels: [String: String], by rules: [JSONValue]) throws -> [String: String]? {
            var labels = labels
            for rule in rules {
                let sources = (rule["source_labels"]?.arrayValue ?? []).compactMap(\.stringValue)
                let value = sources.map { labels[$0] ?? "" }.joined(separator: rule["separator"]?.stringValue ?? ";")
                let matches = try Regex(rule["regex"]?.stringValue ?? "(.*)").wholeMatch(in: value) != nil
                switch rule["action"]?.stringValue ?? "replace" {
                case "keep":
                    if !matches { return nil }
                case "drop":
                    if matches { return nil }
                case "replace":
                    guard let target = rule["target_label"]?.stringValue, rule["regex"] == nil, rule["replacement"] == nil else {
                        throw KubernetesManifests.TestFailure("a replacement this test does not read: \(rule)")
                    }
                    labels[target] = value
                default:
                    throw KubernetesManifests.TestFailure("a relabelling action this test does not read: \(rule)")
                }
            }
            return labels
        }
    }
}
