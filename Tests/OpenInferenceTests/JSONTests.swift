import OpenInference
import Testing

@Suite struct JSONTests {
    @Test func parsesEveryKind() throws {
        let value = try JSONParser.parse(Array(#" {"a": [1, -2, 3.5, 1e3, true, false, null], "b": {"c": "x\"y\u00e9\n"}} "#.utf8))
        #expect(value["a"] == .array([.int(1), .int(-2), .double(3.5), .double(1000), .bool(true), .bool(false), .null]))
        #expect(value["b"]?["c"] == .string("x\"yé\n"))
    }

    @Test func keepsInt64Precision() throws {
        #expect(try JSONParser.parse(Array("9007199254740993".utf8)) == .int(9_007_199_254_740_993))
        #expect(try JSONParser.parse(Array("-9223372036854775808".utf8)) == .int(Int64.min))
        // One past Int64: falls back to a double.
        #expect(try JSONParser.parse(Array("9223372036854775808".utf8)) == .double(9.223372036854775808e18))
    }

    @Test func decodesSurrogatePairs() throws {
        #expect(try JSONParser.parse(Array(#""\ud83d\ude00""#.utf8)) == .string("😀"))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "tru", "\"abc", "\"\\x\"", "{\"a\":1}}", "[1 2]",
        "\"\\ud83d\"", "\u{1}", "\"a\u{1}b\"", "NaN", "{1:2}",
    ])
    func refusesMalformedJSON(_ text: String) {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test func refusesHostileNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(deep.utf8)) }
    }

    @Test func writerRoundTrips() throws {
        let value: JSONValue = .object([("s", .string("quote \" slash \\ tab \t ctl \u{2}")), ("n", .array([.int(-5), .double(0.25), .null, .bool(true)]))])
        var writer = JSONWriter()
        writer.write(value)
        #expect(try JSONParser.parse(writer.bytes) == value)
    }

    @Test func floatsPrintShortAndExact() throws {
        var writer = JSONWriter()
        writer.write(Float(0.1))
        writer.raw(UInt8(ascii: ","))
        writer.write(Float(3))
        writer.raw(UInt8(ascii: ","))
        writer.write(Float.infinity)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "0.1,3,null")
    }
}
