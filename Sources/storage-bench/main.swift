// Fetches one model through ModelStorage, as a peer does on a load, and prints one JSON line
// with its size and download time. tools/bench-storage runs it against a local S3 server and
// samples its resident memory meanwhile.
//
// Usage: storage-bench --config <storage-config.json> --cache <directory> --location <uri> [--key <storage key>]

import AsyncHTTPClient
import Logging
import MeshCore
import ModelStorage

#if canImport(Glibc)
import Glibc
#endif

func argument(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

guard let configPath = argument("--config"), let cache = argument("--cache"), let uri = argument("--location") else {
    let usage = "usage: storage-bench --config <storage-config.json> --cache <directory> --location <uri> [--key <storage key>]\n"
    _ = usage.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

var logger = Logger(label: "storage-bench")
logger.logLevel = .warning
let configuration = try await StorageConfigurationStore(source: .file(configPath), logger: logger)
let storage = ModelStorage(
    configuration: configuration,
    cacheDirectory: cache,
    limits: StorageLimits(maxCacheBytes: 64 << 30, maxModelBytes: 32 << 30),
    httpClient: .shared,
    logger: logger
)
try await storage.prepare()

let started = ContinuousClock.now
let fetched = try await storage.fetch(.uri(uri, key: argument("--key")), for: ModelID(trusted: "bench"))
let elapsed = ContinuousClock.now - started
let seconds = elapsed.seconds
print(#"{"bytes":\#(fetched.byteCount),"seconds":\#(seconds),"fromCache":\#(fetched.fromCache),"path":"\#(fetched.path)"}"#)
