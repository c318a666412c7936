import Foundation
import MeshTestSupport
import ModelRuntimes
import OpenInference
import RemoteRuntimes
import Testing

extension Integration {
    /// The manifests in cluster/k8s: valid against the Kubernetes API schemas, checked offline
    /// with kubernetes-validate (it ships the schemas), and consistent with how a peer starts,
    /// is probed, and shuts down.
    @Suite struct KubernetesManifests {
        static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        static let directory = repo + "/cluster/k8s"
        /// The oldest Kubernetes release the manifests target (the first that can copy the node's
        /// zone label to pods) and the newest one kubernetes-validate knows.
        static let kubernetesVersions = ["1.35.0", "1.37.0"]
        /// In the directory and validated, but applied by hand with real credentials.
        static let example = "storage-config.example.yaml"

        /// Every manifest file (not the kustomization, which is not a Kubernetes object).
        static func manifestFiles() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" }
                .sorted()
        }

        @Test(arguments: kubernetesVersions)
        func everyManifestMatchesTheKubernetesSchemas(version: String) throws {
            let files = try Self.manifestFiles()
            #expect(files.count >= 5)
            // Exits non-zero on a schema violation (runCommand throws with the report). In
            // strict mode an unknown field is a violation too.
            let output = try runCommand("python3", ["-m", "kubernetes_validate", "--strict", "--kubernetes-version", version]
                                            + files.map { Self.directory + "/" + $0 })
            let lines = output.split(separator: "\n").map(String.init)
            // A kind it has no schema for is only a warning with exit status 0: count that as a failure.
            let notPassed = lines.filter { !$0.hasPrefix("INFO") }
            #expect(notPassed.isEmpty, "kubernetes-validate \(version):\n\(notPassed.joined(separator: "\n"))")
            let documents = try Self.load(files)
            #expect(lines.filter { $0.contains(" passed for resource ") }.count == documents.count, "\(output)")
        }

        @Test func theKustomizationAppliesEveryManifestButTheExample() throws {
            let kustomization = try Self.load(["kustomization.yaml"])[0].object
            #expect(kustomization["kind"]?.stringValue == "Kustomization")
            let resources = Set((kustomization["resources"]?.arrayValue ?? []).compactMap(\.stringValue))
            #expect(resources == Set(try Self.manifestFiles()).subtracting([Self.example]))
            let namespace = try Self.cluster().one("Namespace")
            #expect(kustomization["namespace"]?.stringValue == namespace.name)
        }

        @Test func peersStartTogetherAndFindEachOtherBeforeTheyAreReady() throws {
            let cluster = try Self.cluster()
            let peers = cluster.statefulSet("mesh")
            #expect(peers.spec["podManagementPolicy"]?.stringValue == "Parallel")
            #expect(peers.spec["updateStrategy"]?["type"]?.stringValue == "RollingUpdate")
            let podLabels = peers.spec["template"]?["metadata"]?["labels"]
            #expect(Self.selects(peers.spec["selector"]?["matchLabels"], podLabels))

            let headless = cluster.service(named: peers.spec["serviceName"]?.stringValue ?? "")
            #expect(headless.spec["clusterIP"]?.stringValue == "None")
            #expect(headless.spec["publishNotReadyAddresses"]?.boolValue == true)
            #expect(Self.selects(headless.spec["selector"], podLabels))

            // The clients' Service: a normal one, ready pods only, REST and gRPC.
            let client = cluster.service(named: "mesh")
            #expect(client.spec["clusterIP"] == nil)
            #expect(client.spec["publishNotReadyAddresses"]?.boolValue != true)
            #expect(Self.selects(client.spec["selector"], podLabels))
            let container = try #require(peers.container("modelmesh"))
            let containerPorts = Self.ports(of: container)
            var servicePorts: [Int64: Int64] = [:]
            for port in client.spec["ports"]?.arrayValue ?? [] {
                let target = port["targetPort"]?.stringValue.flatMap { containerPorts[$0] } ?? port["targetPort"]?.int64Value
                servicePorts[port["port"]?.int64Value ?? 0] = target
            }
            #expect(servicePorts == [8008: 8008, 8033: 8033])

            // The ports the container declares are the ones the peer is told to listen on.
            let config = cluster.configMap("mesh-config")
            #expect(containerPorts["http"].map(String.init) == config["MM_HTTP_PORT"])
            #expect(containerPorts["grpc"].map(String.init) == config["MM_GRPC_PORT"])
            #expect(Self.envFrom(container).contains("mesh-config"))
        }

        @Test func probesUseTheHealthRoutesOnTheRESTPort() throws {
            let cluster = try Self.cluster()
            let container = try #require(cluster.statefulSet("mesh").container("modelmesh"))
            let http = Self.ports(of: container)["http"]
            for (probe, path) in [("livenessProbe", "/v2/health/live"), ("readinessProbe", "/v2/health/ready"), ("startupProbe", "/v2/health/live")] {
                let get = container[probe]?["httpGet"]
                #expect(get?["path"]?.stringValue == path, "\(probe)")
                let port = get?["port"]?.stringValue.flatMap { Self.ports(of: container)[$0] } ?? get?["port"]?.int64Value
                #expect(port != nil && port == http, "\(probe) must probe the REST port")
            }
            // Readiness reacts faster than liveness: a peer that leaves stops receiving traffic
            // well before anything would restart it.
            let readiness = container["readinessProbe"]
            let liveness = container["livenessProbe"]
            let readinessWindow = (readiness?["periodSeconds"]?.int64Value ?? 10) * (readiness?["failureThreshold"]?.int64Value ?? 3)
            let livenessWindow = (liveness?["periodSeconds"]?.int64Value ?? 10) * (liveness?["failureThreshold"]?.int64Value ?? 3)
            #expect(readinessWindow < livenessWindow)
        }

        @Test func theGracePeriodCoversThePreStopPauseAndTheShutdownMigration() throws {
            let cluster = try Self.cluster()
            let peers = cluster.statefulSet("mesh")
            let container = try #require(peers.container("modelmesh"))
            let grace = try #require(peers.pod["terminationGracePeriodSeconds"]?.int64Value)
            let preStop = try #require(container["lifecycle"]?["preStop"]?["sleep"]?["seconds"]?.int64Value)
            #expect(preStop >= 2 && preStop <= 15)
            let shutdown = try Self.seconds(try #require(cluster.configMap("mesh-config")["MM_SHUTDOWN_TIMEOUT"]))
            // The grace period starts with preStop; after the migration the peer still removes
            // its copy records and revokes its lease.
            #expect(Double(grace) >= Double(preStop) + shutdown + 10,
                    "terminationGracePeriodSeconds \(grace) < preStop \(preStop) s + shutdown timeout \(shutdown) s + 10 s")
            // The launcher must exec the peer so that SIGTERM reaches it, not a shell.
            let script = container["command"]?.arrayValue?.last?.stringValue ?? ""
            #expect(script.split(separator: "\n").last?.trimmingCharacters(in: .whitespaces).hasPrefix("exec modelmesh") == true)
        }

        @Test func peersTakeTheirIdentityZoneAndCapacityFromThePod() throws {
            let cluster = try Self.cluster()
            let container = try #require(cluster.statefulSet("mesh").container("modelmesh"))
            var fields: [String: String] = [:]
            for variable in container["env"]?.arrayValue ?? [] {
                let from = variable["valueFrom"]
                let source = from?["fieldRef"]?["fieldPath"]?.stringValue ?? from?["resourceFieldRef"]?["resource"]?.stringValue
                fields[variable["name"]?.stringValue ?? ""] = source
            }
            #expect(fields["MM_PEER_ID"] == "metadata.name")
            #expect(fields["MM_ADVERTISE_HOST"] == "status.podIP")
            #expect(fields["NODE_ZONE"] == "metadata.labels['topology.kubernetes.io/zone']")
            #expect(fields["MEMORY_REQUEST_MIB"] == "requests.memory")
            let script = container["command"]?.arrayValue?.last?.stringValue ?? ""
            #expect(script.contains("NODE_ZONE") && script.contains("MEMORY_REQUEST_MIB - MEMORY_HEADROOM_MIB"))

            // Capacity = memory request - headroom, which must leave room for models; the
            // limit equals the request so the peer is not killed for using its capacity.
            let resources = container["resources"]
            let request = try Self.mebibytes(try #require(resources?["requests"]?["memory"]?.stringValue))
            let limit = try Self.mebibytes(try #require(resources?["limits"]?["memory"]?.stringValue))
            #expect(request == limit)
            let headroom = try #require(cluster.configMap("mesh-config")["MEMORY_HEADROOM_MIB"].flatMap { Double($0) })
            #expect(headroom >= 256 && request - headroom >= request / 2)
        }

        @Test func theConfigMapSetsOnlySettingsThePeerKnows() throws {
            let help = try runCommand(try MeshPeerProcess.executable("modelmesh"), ["--help"])
            let known = Set(help.matches(of: /MM_[A-Z_]+/).map { String($0.output) })
            #expect(known.contains("MM_ETCD_ENDPOINTS"))
            let cluster = try Self.cluster()
            let container = try #require(cluster.statefulSet("mesh").container("modelmesh"))
            let set = Set(cluster.configMap("mesh-config").keys.filter { $0.hasPrefix("MM_") })
                .union((container["env"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }.filter { $0.hasPrefix("MM_") })
            let unknown = set.subtracting(known)
            #expect(unknown.isEmpty, "not settings of modelmesh (a typo is silently ignored): \(unknown.sorted())")
        }

        static let secureDirectory = repo + "/cluster/k8s-secure"

        /// The secured overlay: cert-manager issues the peers' certificate from a CA of its own,
        /// the peers mount it and the secrets where their settings point, advertise a name the
        /// certificate covers, and are probed over HTTPS.
        @Test func theSecureOverlayWiresCertificatesSecretsAndHTTPSProbes() throws {
            let overlay = try Self.load(["kustomization.yaml", "certificates.yaml", "mesh-tls.yaml", "secrets.example.yaml"], in: Self.secureDirectory)
            func object(_ kind: String, _ name: String) throws -> JSONValue {
                try #require(overlay.first { $0.kind == kind && $0.name == name }?.object, "\(kind) \(name)")
            }
            let kustomization = try #require(overlay.first { $0.kind == "Kustomization" }?.object)
            #expect(Set((kustomization["resources"]?.arrayValue ?? []).compactMap(\.stringValue)) == ["../k8s", "certificates.yaml"])
            #expect((kustomization["patches"]?.arrayValue ?? []).compactMap { $0["path"]?.stringValue } == ["mesh-tls.yaml"])

            // The chain: a self-signed issuer makes the CA, whose Secret backs the issuer of the peers' certificate.
            let ca = try object("Certificate", "mesh-ca")
            #expect(ca["spec"]?["isCA"] == .bool(true))
            let selfSigned = try object("Issuer", try #require(ca["spec"]?["issuerRef"]?["name"]?.stringValue))
            #expect(selfSigned["spec"]?["selfSigned"] != nil)
            let certificate = try object("Certificate", "mesh-tls")
            let issuer = try object("Issuer", try #require(certificate["spec"]?["issuerRef"]?["name"]?.stringValue))
            #expect(issuer["spec"]?["ca"]?["secretName"] == ca["spec"]?["secretName"])
            let usages = Set((certificate["spec"]?["usages"]?.arrayValue ?? []).compactMap(\.stringValue))
            #expect(usages.isSuperset(of: ["server auth", "client auth"]), "peers present it as clients too")

            let patch = try object("StatefulSet", "mesh")
            let pod = try #require(patch["spec"]?["template"]?["spec"])
            let container = try #require(pod["containers"]?.arrayValue?.first { $0["name"]?.stringValue == "modelmesh" })
            var env: [String: String] = [:]
            for variable in container["env"]?.arrayValue ?? [] { env[variable["name"]?.stringValue ?? ""] = variable["value"]?.stringValue }
            var mounts: [String: String] = [:]
            for mount in container["volumeMounts"]?.arrayValue ?? [] { mounts[mount["name"]?.stringValue ?? ""] = mount["mountPath"]?.stringValue }
            var secrets: [String: String] = [:]
            for volume in pod["volumes"]?.arrayValue ?? [] { secrets[volume["name"]?.stringValue ?? ""] = volume["secret"]?["secretName"]?.stringValue }

            // The certificate files are where the settings point.
            #expect(secrets["tls"] == certificate["spec"]?["secretName"]?.stringValue)
            let tls = try #require(mounts["tls"])
            #expect(env["MM_TLS_CERT_FILE"] == tls + "/tls.crt")
            #expect(env["MM_TLS_KEY_FILE"] == tls + "/tls.key")
            #expect(env["MM_TLS_CA_FILE"] == tls + "/ca.crt")
            // The cluster secret and the tokens come from the example Secrets, by key.
            for (setting, volume) in [("MM_CLUSTER_SECRET_FILE", "cluster-secret"), ("MM_AUTH_TOKENS_FILE", "tokens")] {
                let path = try #require(env[setting], "\(setting)")
                let directory = try #require(mounts[volume])
                #expect(path.hasPrefix(directory + "/"), "\(setting)")
                let secret = try object("Secret", try #require(secrets[volume]))
                #expect(secret["stringData"]?[String(path.dropFirst(directory.count + 1))] != nil, "\(setting): the Secret has no such key")
            }

            // Each peer advertises its pod name under the headless Service, which the certificate covers.
            let cluster = try Self.cluster()
            let peers = cluster.statefulSet("mesh")
            let service = try #require(peers.spec["serviceName"]?.stringValue)
            let namespace = try cluster.one("Namespace").name
            let advertised = try #require(env["MM_ADVERTISE_HOST"]).replacingOccurrences(of: "$(MM_PEER_ID)", with: "mesh-0")
            #expect(advertised == "mesh-0.\(service).\(namespace).svc.cluster.local")
            let names = (certificate["spec"]?["dnsNames"]?.arrayValue ?? []).compactMap(\.stringValue)
            #expect(names.contains { $0.hasPrefix("*.") && advertised.hasSuffix($0.dropFirst(1)) && !advertised.dropLast($0.count - 1).contains(".") },
                    "\(names) do not cover \(advertised)")
            // MM_ADVERTISE_HOST uses MM_PEER_ID, so the base must define that first.
            let baseEnv = (peers.container("modelmesh")?["env"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            #expect((baseEnv.firstIndex(of: "MM_PEER_ID") ?? .max) < (baseEnv.firstIndex(of: "MM_ADVERTISE_HOST") ?? -1))

            for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
                #expect(container[probe]?["httpGet"]?["scheme"]?.stringValue == "HTTPS", "\(probe)")
            }
            let help = try runCommand(try MeshPeerProcess.executable("modelmesh"), ["--help"])
            let known = Set(help.matches(of: /MM_[A-Z_]+/).map { String($0.output) })
            #expect(Set(env.keys).subtracting(known).isEmpty, "\(Set(env.keys).subtracting(known))")

            let output = try runCommand("python3", ["-m", "kubernetes_validate", "--strict", "--kubernetes-version", Self.kubernetesVersions[0],
                                                    Self.secureDirectory + "/secrets.example.yaml"])
            #expect(!output.split(separator: "\n").contains { !$0.hasPrefix("INFO") }, "\(output)")
        }

        @Test func storageAndCacheVolumesMatchTheSettings() throws {
            let cluster = try Self.cluster()
            let peers = cluster.statefulSet("mesh")
            let container = try #require(peers.container("modelmesh"))
            let config = cluster.configMap("mesh-config")
            let volumes = Dictionary((peers.pod["volumes"]?.arrayValue ?? []).map { ($0["name"]?.stringValue ?? "", $0) }, uniquingKeysWith: { $1 })
            func volume(mountedAt path: String?) -> JSONValue? {
                let mount = (container["volumeMounts"]?.arrayValue ?? []).first { $0["mountPath"]?.stringValue == path }
                return mount.flatMap { volumes[$0["name"]?.stringValue ?? ""] }
            }
            // The storage-config Secret is where the peer looks, and optional: the mesh starts without it.
            let secret = volume(mountedAt: config["MM_STORAGE_CONFIG"])?["secret"]
            #expect(secret?["secretName"]?.stringValue == "storage-config")
            #expect(secret?["optional"]?.boolValue == true)

            // The disk cache has a volume of its own, larger than the bound the peer keeps.
            let cache = try #require(volume(mountedAt: config["MM_CACHE_DIR"])?["emptyDir"])
            let cacheVolume = try Self.mebibytes(try #require(cache["sizeLimit"]?.stringValue))
            let cacheSize = try Self.mebibytes(try #require(config["MM_CACHE_SIZE"]))
            #expect(cacheSize < cacheVolume)
            let maxModel = try Self.mebibytes(try #require(config["MM_MAX_MODEL_SIZE"]))
            let memory = try Self.mebibytes(try #require(container["resources"]?["requests"]?["memory"]?.stringValue))
            let headroom = Double(config["MEMORY_HEADROOM_MIB"] ?? "") ?? 0
            #expect(maxModel <= cacheSize && maxModel <= memory - headroom)

            // Every emptyDir fits in the container's ephemeral-storage limit, or the kubelet evicts the pod.
            let scratch = try volumes.values.compactMap { $0["emptyDir"]?["sizeLimit"]?.stringValue }.map(Self.mebibytes).reduce(0, +)
            let limit = try Self.mebibytes(try #require(container["resources"]?["limits"]?["ephemeral-storage"]?.stringValue))
            #expect(scratch < limit)
        }

        @Test func podsRunAsNonRootWithReadOnlyRootFileSystemsAndResourceBounds() throws {
            let cluster = try Self.cluster()
            for set in cluster.all("StatefulSet") {
                let pod = set.pod
                #expect(pod["securityContext"]?["runAsNonRoot"]?.boolValue == true, "\(set.name)")
                #expect(pod["securityContext"]?["seccompProfile"]?["type"]?.stringValue == "RuntimeDefault", "\(set.name)")
                #expect(pod["automountServiceAccountToken"]?.boolValue == false, "\(set.name)")
                let zones = (pod["topologySpreadConstraints"]?.arrayValue ?? []).compactMap { $0["topologyKey"]?.stringValue }
                #expect(zones.contains("topology.kubernetes.io/zone"), "\(set.name) must spread over zones")
                for container in pod["containers"]?.arrayValue ?? [] {
                    let name = "\(set.name)/\(container["name"]?.stringValue ?? "?")"
                    let security = container["securityContext"]
                    #expect(security?["readOnlyRootFilesystem"]?.boolValue == true, "\(name)")
                    #expect(security?["allowPrivilegeEscalation"]?.boolValue == false, "\(name)")
                    #expect(security?["capabilities"]?["drop"]?.arrayValue?.compactMap(\.stringValue) == ["ALL"], "\(name)")
                    for kind in ["requests", "limits"] {
                        for resource in ["cpu", "memory"] {
                            #expect(container["resources"]?[kind]?[resource] != nil, "\(name) has no \(kind).\(resource)")
                        }
                    }
                    #expect(container["livenessProbe"] != nil && container["readinessProbe"] != nil, "\(name)")
                }
            }
            // The image runs as the user the peer pods expect, and exposes their ports.
            let dockerfile = try String(contentsOfFile: Self.repo + "/Dockerfile", encoding: .utf8)
            let runtimeStage = dockerfile.components(separatedBy: "\nFROM ").last ?? ""
            let user = cluster.statefulSet("mesh").pod["securityContext"]?["runAsUser"]?.int64Value
            #expect(user != nil && user != 0)
            #expect(runtimeStage.contains("\nUSER \(user ?? 0)"))
            #expect(runtimeStage.contains("\nEXPOSE 8008 8033"))
            #expect(dockerfile.contains("--static-swift-stdlib"))
        }

        @Test func etcdFormsAThreeMemberClusterThatThePeersKnow() throws {
            let cluster = try Self.cluster()
            let etcd = cluster.statefulSet("etcd")
            let members = try #require(etcd.spec["replicas"]?.int64Value)
            #expect(members == 3)
            // With OrderedReady the first member would wait for a readiness that needs quorum.
            #expect(etcd.spec["podManagementPolicy"]?.stringValue == "Parallel")
            let serviceName = try #require(etcd.spec["serviceName"]?.stringValue)
            let headless = cluster.service(named: serviceName)
            #expect(headless.spec["clusterIP"]?.stringValue == "None")
            #expect(headless.spec["publishNotReadyAddresses"]?.boolValue == true)
            #expect(Self.selects(headless.spec["selector"], etcd.spec["template"]?["metadata"]?["labels"]))

            let container = try #require(etcd.container("etcd"))
            let arguments = (container["args"]?.arrayValue ?? []).compactMap(\.stringValue)
            func flag(_ name: String) -> String? {
                arguments.first { $0.hasPrefix("--\(name)=") }.map { String($0.dropFirst(name.count + 3)) }
            }
            let names = (0..<members).map { "\(etcd.name)-\($0)" }
            #expect(flag("initial-cluster") == names.map { "\($0)=http://\($0).\(serviceName):2380" }.joined(separator: ","))
            #expect(flag("initial-advertise-peer-urls") == "http://$(POD_NAME).\(serviceName):2380")
            #expect(flag("name") == "$(POD_NAME)")
            #expect(flag("initial-cluster-state") == "new")
            let endpoints = cluster.configMap("mesh-config")["MM_ETCD_ENDPOINTS"]?.split(separator: ",").map(String.init)
            #expect(endpoints == names.map { "http://\($0).\(serviceName):2379" })

            // The data directory is on the member's own volume.
            let claim = try #require(etcd.spec["volumeClaimTemplates"]?.arrayValue?.first?["metadata"]?["name"]?.stringValue)
            let mount = (container["volumeMounts"]?.arrayValue ?? []).first { $0["name"]?.stringValue == claim }
            let mountPath = try #require(mount?["mountPath"]?.stringValue)
            #expect(flag("data-dir")?.hasPrefix(mountPath + "/") == true)
        }

        @Test func disruptionBudgetsKeepEtcdQuorumAndTakeOnePeerAtATime() throws {
            let cluster = try Self.cluster()
            let budgets = cluster.all("PodDisruptionBudget")
            func budget(for set: Resource) -> Resource? {
                budgets.first { Self.selects($0.spec["selector"]?["matchLabels"], set.spec["template"]?["metadata"]?["labels"]) }
            }
            let etcd = cluster.statefulSet("etcd")
            let members = etcd.spec["replicas"]?.int64Value ?? 0
            #expect(budget(for: etcd)?.spec["minAvailable"]?.int64Value == members / 2 + 1)
            #expect(budget(for: cluster.statefulSet("mesh"))?.spec["maxUnavailable"]?.int64Value == 1)
        }

        // MARK: Runtime servers beside the peer

        static let mlserverDirectory = repo + "/cluster/k8s-mlserver"
        static let tritonDirectory = repo + "/cluster/examples/triton"
        /// The overlays of cluster/k8s.
        static let overlays = [secureDirectory, mlserverDirectory, tritonDirectory]
        /// What a runtime server needs for itself beyond its pool's `memory` (at least).
        static let serverMarginMiB = 512.0

        /// An overlay's patches are partial objects: each overlay is rendered as kustomize would
        /// and the result validated as the base is, cert-manager's kinds aside.
        @Test(arguments: kubernetesVersions)
        func everyOverlayRendersToObjectsThatMatchTheKubernetesSchemas(version: String) throws {
            let work = try TemporaryDirectory(prefix: "mesh-test-overlays")
            defer { work.remove() }
            for overlay in Self.overlays {
                let name = URL(fileURLWithPath: overlay).lastPathComponent + ".yaml"
                _ = try Self.render(overlay, writingTo: work.appending(name))
                let output = try runCommand("python3", ["-m", "kubernetes_validate", "--strict", "--kubernetes-version", version, work.appending(name)])
                let lines = output.split(separator: "\n").map(String.init)
                let notPassed = lines.filter { !$0.hasPrefix("INFO") }
                #expect(notPassed.isEmpty, "\(overlay), kubernetes-validate \(version):\n\(notPassed.joined(separator: "\n"))")
                let written = try Self.load([name], in: work.path)
                #expect(written.contains { $0.kind == "StatefulSet" && $0.name == "mesh" }, "\(overlay)")
                #expect(lines.filter { $0.contains(" passed for resource ") }.count == written.count, "\(overlay): \(output)")
            }
        }

        /// MLServer beside every peer: a sidecar on the pod's loopback that sees the peer's model
        /// files at the peer's paths, serves the repository the peer writes, and is started as the
        /// peer's MLServer driver expects.
        @Test func theMLServerOverlayRunsMLServerBesideThePeerOnSharedVolumes() throws {
            let sidecar = try Self.sidecar("mlserver", in: Self.mlserverDirectory, patch: "mlserver.yaml")
            let configuration = sidecar.configuration
            #expect(configuration.server == .mlserver)
            let env = Self.env(of: sidecar.server)
            // It listens where the peer sends requests, on loopback only.
            #expect(env["MLSERVER_HOST"] == "127.0.0.1")
            #expect(env["MLSERVER_HTTP_PORT"] == String(sidecar.restPort))
            #expect((sidecar.server["command"]?.arrayValue ?? []).compactMap(\.stringValue) == ["mlserver", "start", configuration.repository ?? "?"])
            // One process (its workers die at start with uvloop 0.23), and nothing loaded at start:
            // the peer loads what it places.
            #expect(env["MLSERVER_PARALLEL_WORKERS"] == "0")
            #expect(env["MLSERVER_LOAD_MODELS_AT_STARTUP"] == "false")
            // Its ports (metrics unless turned off) are free in the pod.
            var ports = [env["MLSERVER_HTTP_PORT"], env["MLSERVER_GRPC_PORT"]]
            if env["MLSERVER_METRICS_ENDPOINT"] != "" { ports.append(env["MLSERVER_METRICS_PORT"] ?? "8082") }
            Self.expectFreePorts(ports.map { Int($0 ?? "") }, beside: sidecar, label: "mlserver")
            // It writes into its working directory and HOME, off the read-only root file system.
            let workingDirectory = try #require(sidecar.server["workingDir"]?.stringValue)
            #expect(env["HOME"] == workingDirectory)
            #expect(Self.isWritable(workingDirectory, in: sidecar.server), "\(workingDirectory) is not on a writable volume")
        }

        /// Triton beside every peer, as the MLServer overlay: its flags match the runtime-servers
        /// entry, it loads only what the peer asks for, and it runs formats the built-in pool does not.
        @Test func theTritonExampleRunsTritonBesideThePeerOnSharedVolumes() throws {
            let sidecar = try Self.sidecar("triton", in: Self.tritonDirectory, patch: "triton.yaml")
            let configuration = sidecar.configuration
            #expect(configuration.server == .triton)
            #expect((sidecar.server["command"]?.arrayValue ?? []).compactMap(\.stringValue) == ["tritonserver"])
            var flags: [String: String] = [:]
            for argument in (sidecar.server["args"]?.arrayValue ?? []).compactMap(\.stringValue) {
                let parts = argument.dropFirst(2).split(separator: "=", maxSplits: 1).map(String.init)
                #expect(argument.hasPrefix("--") && parts.count == 2, "\(argument): flags are --name=value")
                if parts.count == 2 { flags[parts[0]] = parts[1] }
            }
            #expect(flags["model-repository"] == configuration.repository)
            #expect(flags["model-control-mode"] == "explicit")
            #expect(flags["http-port"] == String(sidecar.restPort))
            #expect(flags["http-address"] == "127.0.0.1")
            #expect(flags["grpc-address"] == "127.0.0.1")
            // One model that fails to load must not make the whole server look down.
            #expect(flags["strict-readiness"] == "false")
            var ports = [flags["http-port"] ?? "8000", flags["grpc-port"] ?? "8001"]
            if flags["allow-metrics"] != "false" { ports.append(flags["metrics-port"] ?? "8002") }
            Self.expectFreePorts(ports.map { Int($0) }, beside: sidecar, label: "triton")
            #expect(FileManager.default.fileExists(atPath: Self.tritonDirectory + "/README.md"))
        }

        /// What the rendered overlay of a runtime server beside the peer holds.
        struct Sidecar {
            let cluster: Cluster
            let peer: JSONValue
            let server: JSONValue
            let configuration: RuntimeServerConfiguration
            let restPort: Int
        }

        /// Checks what every overlay with a runtime server beside the peer must wire, whichever the
        /// server: the overlay's files, the sidecar, the runtime-servers file, the shared volumes,
        /// probes, memory and security.
        static func sidecar(_ name: String, in directory: String, patch: String) throws -> Sidecar {
            let label = URL(fileURLWithPath: directory).lastPathComponent
            // The base, one patch, and the runtime-servers file as a generated ConfigMap; nothing else.
            let kustomization = try load(["kustomization.yaml"], in: directory)[0].object
            let resources = (kustomization["resources"]?.arrayValue ?? []).compactMap(\.stringValue)
            #expect(resources.map { URL(fileURLWithPath: directory + "/" + $0).standardized.path } == [Self.directory], "\(label)")
            #expect((kustomization["patches"]?.arrayValue ?? []).compactMap { $0["path"]?.stringValue } == [patch], "\(label)")
            let generators = kustomization["configMapGenerator"]?.arrayValue ?? []
            #expect(generators.map { $0["name"]?.stringValue } == ["runtime-servers"], "\(label)")
            let generated = (generators.first?["files"]?.arrayValue ?? []).compactMap(\.stringValue)
            let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }
            #expect(Set(files) == Set(["kustomization.yaml", patch] + generated), "\(label): files the kustomization does not use")

            let cluster = try render(directory)
            let peers = cluster.statefulSet("mesh")
            let pod = peers.pod
            let peer = try #require(peers.container("modelmesh"))
            // A sidecar: started before the peer, stopped after it, so it serves the peer's models
            // while the leaving peer migrates them.
            let server = try #require(peers.initContainer(name), "\(label): no init container \(name)")
            #expect(server["restartPolicy"]?.stringValue == "Always", "\(label): \(name) must be a sidecar")
            #expect(peers.container(name) == nil)
            let volumes = Dictionary((pod["volumes"]?.arrayValue ?? []).map { ($0["name"]?.stringValue ?? "", $0) }, uniquingKeysWith: { $1 })

            // The peer reads the runtime-servers file from the generated ConfigMap.
            let help = try runCommand(try MeshPeerProcess.executable("modelmesh"), ["--help"])
            let known = Set(help.matches(of: /MM_[A-Z_]+/).map { String($0.output) })
            let peerEnv = env(of: peer)
            #expect(Set(peerEnv.keys.filter { $0.hasPrefix("MM_") }).isSubset(of: known), "\(label): \(peerEnv.keys.sorted())")
            let file = try #require(peerEnv["MM_RUNTIME_SERVERS"], "\(label): the peer is not given the runtime servers")
            let peerMounts = mounts(of: peer)
            let fileURL = URL(fileURLWithPath: file)
            let fileMount = try #require(peerMounts[fileURL.deletingLastPathComponent().path], "\(label): \(file) is on no volume")
            let configMap = try #require(volumes[fileMount.volume]?["configMap"]?["name"]?.stringValue)
            #expect(configMap == "runtime-servers")
            let text = try #require(cluster.configMap(configMap)[fileURL.lastPathComponent], "\(label): the ConfigMap has no \(file)")
            let servers = try RuntimeServerConfiguration.parse(text, source: "\(label)/runtime-servers.yaml")
            #expect(servers.count == 1)
            let configuration = try #require(servers.first)
            #expect(configuration.name == name && configuration.runtimeProtocol == .openInference)
            // A format the built-in pool runs never reaches a runtime server: the built-in pool is asked first.
            #expect(Set(configuration.formats).isDisjoint(with: [ONNXRuntime.modelType, SyntheticRuntime.modelType]), "\(configuration.formats)")

            // The peer reaches it on the pod's loopback.
            let rest = try #require(URLComponents(string: configuration.restURL ?? ""))
            #expect(rest.scheme == "http" && rest.host == "127.0.0.1", "\(configuration.restURL ?? "")")
            let restPort = try #require(rest.port)
            // Kubelet's HTTP probes would come from outside the loopback: the probes run in the container.
            for (probe, path) in [("readinessProbe", "/v2/health/ready"), ("livenessProbe", "/v2/health/live")] {
                let command = (server[probe]?["exec"]?["command"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")
                #expect(command.contains("http://127.0.0.1:\(restPort)\(path)"), "\(label): \(probe) must ask \(path) on the REST port: \(command)")
            }
            let readiness = server["readinessProbe"], liveness = server["livenessProbe"]
            let readinessWindow = (readiness?["periodSeconds"]?.int64Value ?? 10) * (readiness?["failureThreshold"]?.int64Value ?? 3)
            let livenessWindow = (liveness?["periodSeconds"]?.int64Value ?? 10) * (liveness?["failureThreshold"]?.int64Value ?? 3)
            #expect(readinessWindow < livenessWindow, "\(label)")

            // The server opens model files by the paths the peer writes into its repository
            // entries: it mounts the peer's cache and models root, from the same volumes, at the
            // same paths, read-only.
            let config = cluster.configMap("mesh-config")
            let serverMounts = mounts(of: server)
            for setting in ["MM_CACHE_DIR", "MM_MODELS_ROOT"] {
                let path = try #require(config[setting])
                let peerMount = try #require(peerMounts[path], "\(label): the peer mounts no volume at \(setting) \(path)")
                let serverMount = try #require(serverMounts[path], "\(label): \(name) does not see \(setting) at \(path)")
                #expect(peerMount.volume == serverMount.volume, "\(label): \(setting)")
                #expect(serverMount.readOnly, "\(label): \(name) only reads \(setting)")
            }
            // The models root is a volume the init container seeds with the image's example models.
            let modelsRoot = try #require(config["MM_MODELS_ROOT"])
            let seed = try #require(peers.initContainer("models-root"))
            #expect(seed["image"] == peer["image"], "\(label): the overlay's image tag differs from the base's")
            #expect(mounts(of: seed).values.contains { $0.volume == peerMounts[modelsRoot]?.volume && !$0.readOnly })
            let seeding = (seed["command"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")
            #expect(seeding.contains(modelsRoot + "/."), "\(label): \(seeding)")
            // The repository: an emptyDir the peer writes and the server reads, outside the other mounts.
            let repository = try #require(configuration.repository)
            let peerRepository = try #require(peerMounts[repository], "\(label): the peer does not mount \(repository)")
            let serverRepository = try #require(serverMounts[repository], "\(label): \(name) does not mount \(repository)")
            #expect(peerRepository.volume == serverRepository.volume && !peerRepository.readOnly)
            #expect(volumes[peerRepository.volume]?["emptyDir"] != nil)
            #expect(!peerMounts.keys.contains { $0 != repository && repository.hasPrefix($0 + "/") }, "\(label): \(repository) lies in another mount")

            // Memory: the request equals the limit, and the pool leaves the server room for itself.
            let request = try mebibytes(try #require(server["resources"]?["requests"]?["memory"]?.stringValue))
            let limit = try mebibytes(try #require(server["resources"]?["limits"]?["memory"]?.stringValue))
            #expect(request == limit, "\(label)")
            let pool = Double(try #require(configuration.capacityBytes)) / 1_048_576
            #expect(pool + serverMarginMiB <= limit,
                    "\(label): the pool's memory (\(pool) MiB) leaves under \(serverMarginMiB) MiB of \(name)'s \(limit) MiB limit for the server itself")

            // Every container as the base's: bounded, non-root (the pod's context), read-only root.
            #expect(pod["securityContext"]?["runAsNonRoot"]?.boolValue == true)
            let all = (pod["initContainers"]?.arrayValue ?? []) + (pod["containers"]?.arrayValue ?? [])
            for container in all {
                let containerName = "\(label)/\(container["name"]?.stringValue ?? "?")"
                let security = container["securityContext"]
                #expect(security?["readOnlyRootFilesystem"]?.boolValue == true, "\(containerName)")
                #expect(security?["allowPrivilegeEscalation"]?.boolValue == false, "\(containerName)")
                #expect(security?["capabilities"]?["drop"]?.arrayValue?.compactMap(\.stringValue) == ["ALL"], "\(containerName)")
                for kind in ["requests", "limits"] {
                    for resource in ["cpu", "memory"] {
                        #expect(container["resources"]?[kind]?[resource] != nil, "\(containerName) has no \(kind).\(resource)")
                    }
                }
            }
            #expect(isWritable("/tmp", in: server), "\(label): \(name) has no writable /tmp")
            // The emptyDirs fit in what the running containers may use, or the kubelet evicts the pod.
            let running = all.filter { $0["restartPolicy"]?.stringValue == "Always" } + (pod["containers"]?.arrayValue ?? [])
            let scratch = try volumes.values.compactMap { $0["emptyDir"]?["sizeLimit"]?.stringValue }.map(Self.mebibytes).reduce(0, +)
            var ephemeral = 0.0
            for container in running {
                ephemeral += try mebibytes(try #require(container["resources"]?["limits"]?["ephemeral-storage"]?.stringValue, "\(label): no ephemeral-storage limit"))
            }
            #expect(scratch < ephemeral, "\(label)")
            return Sidecar(cluster: cluster, peer: peer, server: server, configuration: configuration, restPort: restPort)
        }

        /// The server's ports are given, distinct, and none is the peer's.
        static func expectFreePorts(_ serverPorts: [Int?], beside sidecar: Sidecar, label: String) {
            let config = sidecar.cluster.configMap("mesh-config")
            let taken = Set([config["MM_HTTP_PORT"], config["MM_GRPC_PORT"]].compactMap { $0.flatMap { Int($0) } } + Self.ports(of: sidecar.peer).values.map { Int($0) })
            let given = serverPorts.compactMap { $0 }
            #expect(given.count == serverPorts.count && Set(given).count == given.count, "\(label): \(serverPorts)")
            #expect(taken.count >= 2 && taken.isDisjoint(with: given), "\(label): \(given) collide with the peer's \(taken.sorted())")
        }

        // MARK: Reading the manifests

        struct Resource {
            let file: String
            let object: JSONValue
            var kind: String { object["kind"]?.stringValue ?? "" }
            var name: String { object["metadata"]?["name"]?.stringValue ?? "" }
            var spec: JSONValue { object["spec"] ?? .null }
            var pod: JSONValue { spec["template"]?["spec"] ?? .null }
            func container(_ name: String) -> JSONValue? {
                pod["containers"]?.arrayValue?.first { $0["name"]?.stringValue == name }
            }
            func initContainer(_ name: String) -> JSONValue? {
                pod["initContainers"]?.arrayValue?.first { $0["name"]?.stringValue == name }
            }
        }

        struct Cluster {
            let resources: [Resource]
            func all(_ kind: String) -> [Resource] { resources.filter { $0.kind == kind } }
            func one(_ kind: String) throws -> Resource {
                let found = all(kind)
                guard found.count == 1 else { throw TestFailure("expected one \(kind), found \(found.count)") }
                return found[0]
            }
            func named(_ kind: String, _ name: String) -> Resource {
                let found = all(kind).first { $0.name == name }
                #expect(found != nil, "no \(kind) \(name) in cluster/k8s")
                return found ?? Resource(file: "", object: .null)
            }
            func statefulSet(_ name: String) -> Resource { named("StatefulSet", name) }
            func service(named name: String) -> Resource { named("Service", name) }
            func configMap(_ name: String) -> [String: String] {
                Dictionary((named("ConfigMap", name).object["data"]?.objectValue ?? []).map { ($0.0, $0.1.stringValue ?? "") },
                           uniquingKeysWith: { $1 })
            }
        }

        struct TestFailure: Error, CustomStringConvertible {
            let description: String
            init(_ description: String) { self.description = description }
        }

        /// Every object the kustomization applies.
        static func cluster() throws -> Cluster {
            Cluster(resources: try load(try manifestFiles().filter { $0 != example }))
        }

        /// Parses YAML files (multi-document) with PyYAML and returns their documents.
        static func load(_ files: [String], in directory: String = directory) throws -> [Resource] {
            let output = try runCommand("python3", ["-c", """
                import json, os, sys, yaml
                documents = []
                for path in sys.argv[1:]:
                    with open(path) as f:
                        for document in yaml.safe_load_all(f):
                            if document is not None:
                                documents.append({"file": os.path.basename(path), "object": document})
                print(json.dumps(documents))
                """] + files.map { directory + "/" + $0 })
            return try (JSONParser.parse(Array(output.utf8)).arrayValue ?? []).map {
                Resource(file: $0["file"]?.stringValue ?? "", object: $0["object"] ?? .null)
            }
        }

        /// Builds an overlay as `kubectl kustomize` does, as far as these tests look (kustomize is
        /// not among the tools the tests install): resources, generated ConfigMaps (named without
        /// the content hash), strategic-merge patches, namespace and image tags. With `file`, also
        /// writes the objects of Kubernetes' own API groups there, for kubernetes-validate.
        static func render(_ overlay: String, writingTo file: String? = nil) throws -> Cluster {
            let output = try runCommand("python3", ["-c", renderScript, overlay] + (file.map { [$0] } ?? []))
            let label = URL(fileURLWithPath: overlay).lastPathComponent
            return Cluster(resources: (try JSONParser.parse(Array(output.utf8)).arrayValue ?? []).map { Resource(file: label, object: $0) })
        }

        static let renderScript = """
            import json, os, sys, yaml

            # Lists merged item by item under strategic merge, by these keys; others are replaced.
            KEYS = {"containers": "name", "initContainers": "name", "volumes": "name", "env": "name",
                    "ports": "containerPort", "volumeMounts": "mountPath"}

            def merge(base, patch, field=None):
                if isinstance(base, dict) and isinstance(patch, dict):
                    merged = dict(base)
                    for key, value in patch.items():
                        if value is None:
                            merged.pop(key, None)
                        else:
                            merged[key] = merge(merged[key], value, key) if key in merged else value
                    return merged
                key = KEYS.get(field)
                if isinstance(base, list) and isinstance(patch, list) and key:
                    merged = list(base)
                    for item in patch:
                        index = next((i for i, old in enumerate(merged) if old.get(key) == item.get(key)), None)
                        if index is None:
                            merged.append(item)
                        else:
                            merged[index] = merge(merged[index], item)
                    return merged
                return patch

            def load(path):
                with open(path) as f:
                    return [document for document in yaml.safe_load_all(f) if document is not None]

            def build(directory):
                kustomization = load(os.path.join(directory, "kustomization.yaml"))[0]
                objects = []
                for resource in kustomization.get("resources", []):
                    path = os.path.join(directory, resource)
                    objects += build(path) if os.path.isdir(path) else load(path)
                for generator in kustomization.get("configMapGenerator", []):
                    data = {}
                    for entry in generator.get("files", []):
                        key, _, path = entry.rpartition("=")
                        with open(os.path.join(directory, path)) as f:
                            data[key or os.path.basename(path)] = f.read()
                    objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data})
                for entry in kustomization.get("patches", []):
                    for patch in load(os.path.join(directory, entry["path"])):
                        matches = [i for i, o in enumerate(objects)
                                   if o["kind"] == patch["kind"] and o["metadata"]["name"] == patch["metadata"]["name"]]
                        if len(matches) != 1:
                            sys.exit("%s: no single %s %s to patch" % (entry["path"], patch["kind"], patch["metadata"]["name"]))
                        objects[matches[0]] = merge(objects[matches[0]], patch)
                for image in kustomization.get("images", []):
                    for o in objects:
                        pod = o.get("spec", {}).get("template", {}).get("spec", {})
                        for container in pod.get("containers", []) + pod.get("initContainers", []):
                            if container.get("image") == image["name"] and "newTag" in image:
                                container["image"] = "%s:%s" % (image["name"], image["newTag"])
                if "namespace" in kustomization:
                    for o in objects:
                        if o["kind"] != "Namespace":
                            o["metadata"]["namespace"] = kustomization["namespace"]
                return objects

            objects = build(sys.argv[1])
            if len(sys.argv) > 2:
                def kubernetes(o):
                    group = o["apiVersion"].rpartition("/")[0]
                    return group in ("", "apps", "policy", "batch") or group.endswith(".k8s.io")
                with open(sys.argv[2], "w") as f:
                    yaml.safe_dump_all([o for o in objects if kubernetes(o)], f)
            print(json.dumps(objects))
            """

        /// A container's environment values by name (not those taken from references).
        static func env(of container: JSONValue) -> [String: String] {
            var values: [String: String] = [:]
            for variable in container["env"]?.arrayValue ?? [] {
                if let name = variable["name"]?.stringValue, let value = variable["value"]?.stringValue { values[name] = value }
            }
            return values
        }

        /// A container's volume mounts by path.
        static func mounts(of container: JSONValue) -> [String: (volume: String, readOnly: Bool)] {
            var mounts: [String: (volume: String, readOnly: Bool)] = [:]
            for mount in container["volumeMounts"]?.arrayValue ?? [] {
                guard let path = mount["mountPath"]?.stringValue, let volume = mount["name"]?.stringValue else { continue }
                mounts[path] = (volume, mount["readOnly"]?.boolValue ?? false)
            }
            return mounts
        }

        /// Whether `path` lies on a volume the container may write.
        static func isWritable(_ path: String, in container: JSONValue) -> Bool {
            mounts(of: container).contains { mountPath, mount in !mount.readOnly && (path == mountPath || path.hasPrefix(mountPath + "/")) }
        }

        /// Whether a label selector (`matchLabels` or a Service's `selector`) matches `labels`.
        static func selects(_ selector: JSONValue?, _ labels: JSONValue?) -> Bool {
            guard let selector = selector?.objectValue, !selector.isEmpty else { return false }
            return selector.allSatisfy { key, value in labels?[key]?.stringValue == value.stringValue }
        }

        static func ports(of container: JSONValue) -> [String: Int64] {
            var ports: [String: Int64] = [:]
            for port in container["ports"]?.arrayValue ?? [] {
                if let name = port["name"]?.stringValue, let number = port["containerPort"]?.int64Value { ports[name] = number }
            }
            return ports
        }

        static func envFrom(_ container: JSONValue) -> [String] {
            (container["envFrom"]?.arrayValue ?? []).compactMap { $0["configMapRef"]?["name"]?.stringValue }
        }

        /// `60s`, `2m`, `500ms` in seconds, as the peer reads durations.
        static func seconds(_ text: String) throws -> Double {
            for (suffix, scale) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] where text.hasSuffix(suffix) {
                if let value = Double(text.dropLast(suffix.count)) { return value * scale }
            }
            guard let value = Double(text) else { throw TestFailure("not a duration: \(text)") }
            return value
        }

        /// A Kubernetes memory quantity (`2Gi`, `512Mi`, `1G`) in MiB.
        static func mebibytes(_ text: String) throws -> Double {
            let mebibyte = 1_048_576.0
            let units: [(String, Double)] = [("Ki", 1024), ("Mi", mebibyte), ("Gi", 1024 * mebibyte), ("Ti", 1_048_576 * mebibyte),
                                             ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)]
            for (suffix, scale) in units where text.hasSuffix(suffix) {
                if let value = Double(text.dropLast(suffix.count)) { return value * scale / mebibyte }
            }
            guard let value = Double(text) else { throw TestFailure("not a quantity: \(text)") }
            return value / mebibyte
        }
    }
}
