import OpenInference
import Testing
import MeshCore

/// Requests built to exhaust memory or time: each is refused from what was received, before
/// anything is allocated for what it merely claims.
@Suite struct HostileInputTests {
    static let hugeShapes: [String] = [
        // 2^31 elements claimed by a 100-byte request (would reserve ~48 GiB of JSON values).
        #"{"inputs": [{"name": "x", "shape": [2147483648], "datatype": "FP32", "data": [1]}]}"#,
        #"{"inputs": [{"name": "x", "shape": [65536, 32768], "datatype": "FP32", "data": [1]}]}"#,
        // A zero beside huge dimensions holds no data but overflows every stride computed from it.
        #"{"inputs": [{"name": "x", "shape": [0, 2147483647, 2147483647, 2147483647], "datatype": "FP32", "data": []}]}"#,
    ]

    @Test(arguments: hugeShapes)
    func hugeShapesAreRefusedBeforeAllocation(_ body: String) {
        #expect(throws: MeshError.self) { try RESTDecoding.request(Array(body.utf8)) }
    }

    @Test func aShapeLargerThanItsDataIsRefusedWithTheCount() {
        let body = #"{"inputs": [{"name": "x", "shape": [1073741824], "datatype": "FP32", "data": [1, 2]}]}"#
        do {
            _ = try RESTDecoding.request(Array(body.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.httpStatus == 400)
            #expect(error.message.contains("(1073741824 elements) but its data has 2"), "\(error.message)")
        }
    }

    /// BYTES in the binary extension: 2^31 - 1 elements claimed, 8 bytes sent.
    @Test func bytesTensorClaimingBillionsOfElementsIsRefused() {
        let json = #"{"inputs": [{"name": "s", "shape": [2147483647], "datatype": "BYTES", "parameters": {"binary_data_size": 8}}]}"#
        var body = Array(json.utf8)
        body += [4, 0, 0, 0, 0x61, 0x62, 0x63, 0x64]
        do {
            _ = try RESTDecoding.request(body, jsonLength: json.utf8.count)
            Issue.record("accepted")
        } catch {
            #expect(error.httpStatus == 400)
            #expect(error.message.contains("has 1 BYTES elements but its shape needs 2147483647"), "\(error.message)")
        }
    }

    @Test func bytesTensorWithMoreElementsThanItsShapeIsRefused() {
        let json = #"{"inputs": [{"name": "s", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 10}}]}"#
        let body = Array(json.utf8) + [1, 0, 0, 0, 0x61, 1, 0, 0, 0, 0x62]
        #expect(throws: MeshError.self) { try RESTDecoding.request(body, jsonLength: json.utf8.count) }
    }

    @Test(arguments: [
        ([Int64(2147483648)], "dimensions are integers from 0 to 2147483647"),
        ([Int64(-1)], "dimensions are integers from 0 to 2147483647"),
        ([Int64(0), 2_147_483_647, 2_147_483_647], "too many elements"),
        ([Int64(65536), 65536], "too many elements"),
    ])
    func shapeCheck(_ dimensions: [Int64], _ message: String) {
        do {
            _ = try TensorShape.check(dimensions, label: "input 'x'")
            Issue.record("accepted \(dimensions)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func shapesAtTheLimitPass() throws {
        #expect(try TensorShape.check([0, 2_147_483_647], label: "x").elements == 0)
        #expect(try TensorShape.check([2, 1 << 30], label: "x").elements == 1 << 31)
        #expect(try TensorShape.check([], label: "x").elements == 1)
    }

    /// 200,000 distinct parameter names: decoding is linear (a hashed index), and every one is kept.
    @Test func manyParametersDecodeAndKeepEveryName() throws {
        let count = 200_000
        var json = #"{"parameters": {"#
        for index in 0..<count {
            if index > 0 { json += "," }
            json += "\"p\(index)\": \(index)"
        }
        json += #"}, "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}"#
        let request = try RESTDecoding.request(Array(json.utf8))
        #expect(request.parameters.count == count)
        #expect(request.parameters["p199999"] == .int(199_999))
        #expect(request.parameters["p0"] == .int(0))
    }

    @Test func parametersKeepOrderThroughRemoval() {
        var parameters: Parameters = ["a": .int(1), "b": .int(2), "c": .int(3)]
        parameters["b"] = nil
        parameters["d"] = .bool(true)
        parameters["a"] = .string("x")
        #expect(parameters.entries.map(\.0) == ["a", "c", "d"])
        #expect(parameters["c"] == .int(3))
        #expect(parameters["b"] == nil)
        #expect(parameters == ["a": .string("x"), "c": .int(3), "d": .bool(true)])
    }
}
