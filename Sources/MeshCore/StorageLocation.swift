/// Where a model's files live, in either of the two forms users write.
///
/// JSON: `{"uri": "s3://bucket/path"}` or ModelMesh's keyed form
/// `{"key": "localMinIO", "path": "sklearn/iris.onnx", "parameters": {"bucket": "models"}}`.
/// The storage key names an entry of the peer's storage configuration, which holds the
/// credentials; the location itself never does.
public enum StorageLocation: Hashable, Sendable {
    case uri(String)
    case keyed(key: String, path: String, parameters: [String: String])

    public var displayText: String {
        switch self {
        case .uri(let uri): return uri
        case .keyed(let key, let path, let parameters):
            let extra = parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" }.joined(separator: ",")
            return extra.isEmpty ? "\(key):\(path)" : "\(key):\(path) (\(extra))"
        }
    }
}

extension StorageLocation: Codable {
    private enum CodingKeys: String, CodingKey { case uri, key, path, parameters }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let uri = try container.decodeIfPresent(String.self, forKey: .uri) {
            self = .uri(uri)
            return
        }
        guard let key = try container.decodeIfPresent(String.self, forKey: .key) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "a storage location needs either \"uri\" or \"key\" and \"path\""
            ))
        }
        let path = try container.decodeIfPresent(String.self, forKey: .path) ?? ""
        let parameters = try container.decodeIfPresent([String: String].self, forKey: .parameters) ?? [:]
        self = .keyed(key: key, path: path, parameters: parameters)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .uri(let uri):
            try container.encode(uri, forKey: .uri)
        case .keyed(let key, let path, let parameters):
            try container.encode(key, forKey: .key)
            try container.encode(path, forKey: .path)
            if !parameters.isEmpty { try container.encode(parameters, forKey: .parameters) }
        }
    }
}
