import MeshCore

/// Applies the storage-config and the peer's limits to a location. Pure: no I/O.
struct SourceResolver {
    let configuration: StorageConfiguration
    let limits: StorageLimits

    /// Parameters a model's registration may set; anything that would redirect the entry's
    /// credentials or headers elsewhere (endpoint, url, keys) stays in the storage-config.
    static let overridableParameters = ["bucket", "region", "type"]

    func resolve(_ location: StorageLocation) throws(StorageError) -> ResolvedSource {
        do {
            try location.validate()
        } catch {
            throw StorageError(.invalidLocation, "storage location \(location) is invalid: \(error)")
        }
        switch location {
        case .uri(let uri, let key):
            return try resolveURI(uri, key: key)
        case .keyed(let key, let path, let parameters):
            return try resolveKeyed(key: key, path: path, parameters: parameters)
        }
    }

    // MARK: - URI form

    private func resolveURI(_ uri: String, key: String?) throws(StorageError) -> ResolvedSource {
        let lowered = uri.lowercased()
        if lowered.hasPrefix("s3://") {
            let rest = uri.dropFirst("s3://".count)
            guard let slash = rest.firstIndex(of: "/"), rest.index(after: slash) < rest.endIndex else {
                throw StorageError(.invalidLocation, "s3 URI \(uri) needs an object key or prefix after the bucket: s3://bucket/path/to/model")
            }
            let bucket = String(rest[..<slash])
            let path = String(rest[rest.index(after: slash)...])
            let (entryKey, entry) = try s3Entry(named: key, for: uri)
            return .s3(try s3Source(storageKey: entryKey, entry: entry, bucket: bucket, path: path))
        }
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") {
            guard case .success(let address) = WebAddress.parse(uri) else {
                throw StorageError(.invalidLocation, "\(StorageLocation.uri(uri)) is not a valid http(s) URL")
            }
            return .http(try httpSource(address, storageKey: key))
        }
        if lowered.hasPrefix("file:") {
            guard lowered.hasPrefix("file:///") else {
                throw StorageError(.invalidLocation, "file URI \(uri) must be file:///absolute/path (no host)")
            }
            guard let path = PercentEncoding.decode(String(uri.dropFirst("file://".count))) else {
                throw StorageError(.invalidLocation, "file URI \(uri) has a malformed %-escape")
            }
            return .local(try localSource(absolute: path, shown: uri))
        }
        if let schemeEnd = uri.firstRange(of: "://") {
            let scheme = uri[..<schemeEnd.lowerBound]
            throw StorageError(.unsupported, "storage scheme '\(scheme)' is not supported; use s3://, http://, https://, file:// or a path under the local model root")
        }
        if uri.hasPrefix("/") {
            return .local(try localSource(absolute: uri, shown: uri))
        }
        guard let root = limits.localRoots.first else {
            throw StorageError(.invalidLocation, "'\(uri)' is a relative path, but this peer has no local model root configured; use s3://, http(s):// or configure a model root")
        }
        return .local(LocalSource(root: Self.trimmingTrailingSlashes(root), relativePath: Self.trimmingTrailingSlashes(uri)))
    }

    // MARK: - Keyed form

    private func resolveKeyed(key: String?, path: String, parameters: [String: String]) throws(StorageError) -> ResolvedSource {
        if let unknown = parameters.keys.sorted().first(where: { !Self.overridableParameters.contains($0) }) {
            throw StorageError(.invalidLocation, "parameter '\(unknown)' cannot be set per model; allowed are \(Self.overridableParameters.joined(separator: ", ")) (endpoints, URLs and credentials belong in the storage-config)")
        }
        let requestedType = parameters["type"]?.lowercased()
        let entryKey: String
        let entry: StorageEntry
        if let key {
            entryKey = key
            entry = try configuration.entry(key)
        } else {
            (entryKey, entry) = try defaultEntry(type: requestedType)
        }
        if let requestedType, requestedType != entry.type, !(requestedType == "https" && entry.type == "http") {
            throw StorageError(.invalidLocation, "parameter type '\(requestedType)' does not match storage-config entry '\(entryKey)', which is of type \(entry.type)")
        }
        switch entry {
        case .s3(var s3):
            if let region = parameters["region"] {
                guard !region.isEmpty, region.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
                    throw StorageError(.invalidLocation, "parameter region must be a plain region name such as us-east-1")
                }
                s3.region = region
            }
            guard let bucket = parameters["bucket"] ?? s3.bucket else {
                throw StorageError(.invalidLocation, "no bucket for path '\(path)': set \"bucket\" in the location's parameters or in storage-config entry '\(entryKey)'")
            }
            return .s3(try s3Source(storageKey: entryKey, entry: s3, bucket: bucket, path: path))
        case .http(let http):
            if parameters["bucket"] != nil || parameters["region"] != nil {
                throw StorageError(.invalidLocation, "parameters bucket and region apply to S3 storage; storage-config entry '\(entryKey)' is of type http")
            }
            guard let base = http.baseURL else {
                throw StorageError(.invalidConfiguration, "storage-config entry '\(entryKey)' has no \"url\", so a keyed location cannot name a path in it; add url or use a full https:// URI")
            }
            var basePath = base.percentEncodedPath
            while basePath.hasSuffix("/") { basePath.removeLast() }
            let address = base.replacingPath(basePath + "/" + PercentEncoding.encode(path, keepingSlashes: true), query: base.percentEncodedQuery)
            return .http(try httpSource(address, storageKey: entryKey, entry: http))
        }
    }

    // MARK: - Pieces

    private func s3Entry(named key: String?, for uri: String) throws(StorageError) -> (String, S3StorageEntry) {
        let (entryKey, entry): (String, StorageEntry)
        if let key {
            (entryKey, entry) = (key, try configuration.entry(key))
        } else {
            (entryKey, entry) = try defaultEntry(type: "s3")
        }
        guard case .s3(let s3) = entry else {
            throw StorageError(.invalidLocation, "\(uri) is an S3 location, but storage-config entry '\(entryKey)' is of type \(entry.type)")
        }
        return (entryKey, s3)
    }

    /// ModelMesh's rule for locations without a key: `default_<type>`, then `default`.
    private func defaultEntry(type: String?) throws(StorageError) -> (String, StorageEntry) {
        let candidates = (type.map { ["default_\($0)"] } ?? []) + ["default"]
        for candidate in candidates {
            if let entry = configuration.entries[candidate] { return (candidate, entry) }
            if configuration.problems[candidate] != nil { return (candidate, try configuration.entry(candidate)) }
        }
        throw StorageError(.unknownStorageKey, "the location names no storage key and the storage-config has no \(candidates.map { "'\($0)'" }.joined(separator: " or ")) entry; add \"key\" to the location")
    }

    private func s3Source(storageKey: String, entry: S3StorageEntry, bucket: String, path: String) throws(StorageError) -> S3Source {
        if let problem = S3Naming.bucketProblem(bucket) {
            throw StorageError(.invalidLocation, "bucket '\(bucket)' \(problem)")
        }
        guard !path.isEmpty else {
            throw StorageError(.invalidLocation, "s3://\(bucket) needs a path to the model inside the bucket")
        }
        return S3Source(storageKey: storageKey, entry: entry, bucket: bucket, path: path)
    }

    private func httpSource(_ address: WebAddress, storageKey: String?, entry knownEntry: HTTPStorageEntry? = nil) throws(StorageError) -> HTTPSource {
        guard limits.isHTTPHostAllowed(address.host) else {
            throw StorageError(.hostNotAllowed, "HTTP storage host '\(address.host)' is not in this peer's allowed hosts (\((limits.allowedHTTPHosts ?? []).joined(separator: ", ")))")
        }
        var entry = knownEntry
        if entry == nil, let storageKey {
            guard case .http(let http) = try configuration.entry(storageKey) else {
                throw StorageError(.invalidLocation, "\(address) is an HTTP location, but storage-config entry '\(storageKey)' is not of type http")
            }
            entry = http
        }
        if let entry, let base = entry.baseURL {
            // The entry's headers may be tokens: they only go to the entry's own URL.
            guard base.sameOrigin(as: address),
                  address.percentEncodedPath == base.percentEncodedPath
                    || address.percentEncodedPath.hasPrefix(Self.directoryPrefix(base.percentEncodedPath))
            else {
                throw StorageError(.invalidLocation, "\(address) is not under \(base), the url of storage-config entry '\(storageKey ?? "")'; its headers are only sent there")
            }
        }
        return HTTPSource(storageKey: storageKey, url: address, headers: entry?.headers ?? [], entry: entry)
    }

    private func localSource(absolute path: String, shown: String) throws(StorageError) -> LocalSource {
        let path = Self.trimmingTrailingSlashes(path)
        for root in limits.localRoots.map(Self.trimmingTrailingSlashes) {
            if path == root { return LocalSource(root: root, relativePath: "") }
            if path.hasPrefix(root + "/") { return LocalSource(root: root, relativePath: String(path.dropFirst(root.count + 1))) }
        }
        let roots = limits.localRoots.isEmpty ? "none are configured" : limits.localRoots.joined(separator: ", ")
        throw StorageError(.pathEscapes, "\(shown) is outside the local model roots (\(roots)); a model may only be read from under them")
    }

    private static func directoryPrefix(_ path: String) -> String {
        path.hasSuffix("/") ? path : path + "/"
    }

    static func trimmingTrailingSlashes(_ path: String) -> String {
        var path = path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return path
    }
}
