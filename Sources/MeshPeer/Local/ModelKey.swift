import Foundation
import MeshCore

/// ModelMesh's `modelKey` as its puller hands it to runtimes: JSON with the storage key, bucket
/// and parameters the model came from, and the bytes of its files on disk (`disk_size_bytes`,
/// which ModelMesh's adapters multiply into a size estimate).
enum ModelKey {
    static func json(_ storage: StorageLocation?, diskBytes: Int64) -> String {
        var object: [String: Any] = ["disk_size_bytes": diskBytes]
        switch storage {
        case .keyed(let key, _, let parameters)?:
            if let key { object["storage_key"] = key }
            var parameters = parameters
            if let bucket = parameters.removeValue(forKey: "bucket") { object["bucket"] = bucket }
            if !parameters.isEmpty { object["storage_params"] = parameters }
        case .uri(_, let key?)?:
            object["storage_key"] = key
        case .uri?, nil:
            break
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
