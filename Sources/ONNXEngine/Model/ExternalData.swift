import Foundation

/// The external data files of one model load: tensors whose bytes live in files beside the
/// model (`data_location = EXTERNAL`).
///
/// Each file is read once however many tensors name it, and the tensors are sliced out of that
/// one copy. Together they may take no more bytes from a file than it holds: overlapping ranges
/// would let one small file fill memory many times over.
final class ExternalDataFiles {
    /// The model's directory with symbolic links resolved; no file may resolve outside it.
    private let directory: URL
    private var files: [String: Data] = [:]
    private var bytesTaken: [String: Int] = [:]
    /// Files read from disk so far.
    private(set) var filesRead = 0

    init(baseDirectory: URL) {
        directory = baseDirectory.standardizedFileURL.resolvingSymlinksInPath()
    }

    /// The bytes `proto`'s `external_data` entries point at.
    func bytes(of proto: Onnx_TensorProto, name: String) throws(ONNXError) -> Data {
        var entries: [String: String] = [:]
        for entry in proto.externalData { entries[entry.key] = entry.value }
        guard let location = entries["location"], !location.isEmpty,
            !location.hasPrefix("/"), !location.split(separator: "/").contains("..")
        else {
            throw .malformedModel("tensor \(name) has a missing or unsafe external data location")
        }
        let offset = try Self.position(entries["offset"] ?? "0", "offset", of: name)
        let length = try entries["length"].map { text throws(ONNXError) in try Self.position(text, "length", of: name) }
        let (path, file) = try read(location, for: name)
        var end = file.count
        if let length {
            let (sum, overflow) = offset.addingReportingOverflow(length)
            guard !overflow else {
                throw .malformedModel("tensor \(name): external data offset \(offset) + length \(length) overflows")
            }
            end = sum
        }
        guard offset <= end, end <= file.count else {
            let span = length.map { "offset \(offset), length \($0)," } ?? "offset \(offset)"
            throw .malformedModel("tensor \(name): external data at \(span) is outside \(location) (\(file.count) bytes)")
        }
        // Both terms are at most the file's size, so the sum cannot overflow.
        let taken = bytesTaken[path, default: 0] + (end - offset)
        guard taken <= file.count else {
            throw .malformedModel(
                "tensor \(name): tensors take \(taken) bytes from \(location), which holds \(file.count); "
                    + "their external data ranges overlap")
        }
        bytesTaken[path] = taken
        return file[(file.startIndex + offset)..<(file.startIndex + end)]
    }

    /// A non-negative decimal `offset` or `length`.
    private static func position(_ text: String, _ field: String, of name: String) throws(ONNXError) -> Int {
        guard let value = Int(text), value >= 0 else {
            throw .malformedModel("tensor \(name) has an invalid external data \(field) '\(text.prefix(32))'")
        }
        return value
    }

    /// The file at `location`, read on first use.
    private func read(_ location: String, for name: String) throws(ONNXError) -> (path: String, data: Data) {
        let url = directory.appendingPathComponent(location).standardizedFileURL.resolvingSymlinksInPath()
        let root = directory.path.hasSuffix("/") ? directory.path : directory.path + "/"
        guard url.path.hasPrefix(root) else {
            throw .malformedModel("tensor \(name): external data file \(location) resolves outside the model's directory")
        }
        if let data = files[url.path] { return (url.path, data) }
        // A FIFO or a device could block the load or never end; only regular files are read.
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        guard attributes?[.type] as? FileAttributeType == .typeRegular,
            let data = try? Data(contentsOf: url, options: .mappedIfSafe)
        else {
            throw .malformedModel("tensor \(name): cannot read external data file \(location) (missing or not a regular file)")
        }
        filesRead += 1
        files[url.path] = data
        return (url.path, data)
    }
}
