@testable import MeshBench
import Testing

@Suite struct MarkdownSectionTests {
    @Test func aMissingSectionIsAppendedAndTheRestKept() {
        let document = "# Benchmarks\n\nHand-written notes.\n"
        let updated = MarkdownSection.replacing("tools/bench", with: "| a |", in: document)
        #expect(updated.hasPrefix(document))
        #expect(updated.contains(MarkdownSection.begin("tools/bench") + "\n| a |\n" + MarkdownSection.end("tools/bench")))
    }

    @Test func anExistingSectionIsReplacedInPlace() {
        let first = MarkdownSection.replacing("x", with: "old", in: "# T\n\nbefore\n")
        let withAfter = first + "\nafter\n"
        let second = MarkdownSection.replacing("x", with: "new", in: withAfter)
        #expect(second.contains("new"))
        #expect(!second.contains("old"))
        #expect(second.hasPrefix("# T\n\nbefore\n"))
        #expect(second.hasSuffix("\nafter\n"))
    }

    @Test func sectionsWithDifferentNamesDoNotTouchEachOther() {
        var document = MarkdownSection.replacing("a", with: "A1", in: "")
        document = MarkdownSection.replacing("b", with: "B1", in: document)
        document = MarkdownSection.replacing("a", with: "A2", in: document)
        #expect(document.contains("A2") && document.contains("B1") && !document.contains("A1"))
    }

    @Test func tablesAlignNumbersRight() {
        var table = MarkdownTable(["path", "p50"])
        table.add(["local", "120"])
        #expect(table.text == "| path | p50 |\n|---|---:|\n| local | 120 |")
    }
}

@Suite struct BenchPiecesTests {
    @Test func nginxKeepsUpstreamConnectionsAlive() {
        let text = NginxProxy.configuration(port: 8080, upstream: "127.0.0.1:9000", directory: "/tmp/x")
        #expect(text.contains("server 127.0.0.1:9000;"))
        #expect(text.contains("keepalive 256;"))
        #expect(text.contains("proxy_http_version 1.1;"))
        #expect(text.contains("proxy_set_header Connection \"\";"))
        #expect(text.contains("listen 127.0.0.1:8080"))
        #expect(text.contains("access_log off;"))
    }

    @Test func wrkOutputYieldsRequestsPerSecondAndRejectsFailures() throws {
        let output = """
        Running 8s test @ http://127.0.0.1:1/v2/models/hot/infer
          1 threads and 64 connections
        Requests/sec:  23456.78
        Transfer/sec:      5.10MB
        """
        #expect(try Wrk.parse(output) == 23456.78)
        #expect(throws: (any Error).self) { try Wrk.parse(output + "\n  Non-2xx or 3xx responses: 12\n") }
        #expect(throws: (any Error).self) { try Wrk.parse("nothing") }
    }

    @Test func bulkModelIDsSortInIndexOrder() {
        #expect(BulkRegistrar.modelID(7) == "bulk-0000007")
        #expect(BulkRegistrar.modelID(999_999) == "bulk-0999999")
        #expect(BulkRegistrar.modelID(99) < BulkRegistrar.modelID(100))
    }

    @Test func bulkRecordsAreWhatRegistrationWrites() throws {
        let json = String(decoding: try BulkRegistrar.recordJSON(storageURI: "file:///m.json"), as: UTF8.self)
        #expect(json.contains(#""type":"synthetic""#))
        #expect(json.contains("file:///m.json"))
        #expect(json.contains(#""minCopies":0"#))
    }

    @Test func meshctlsClosingLineGivesTheCount() {
        #expect(ScaleBench.listedCount("MODEL TYPE\nbulk-1 synthetic\n\n1000000 models\n") == 1_000_000)
        #expect(ScaleBench.listedCount("\n1 model\n") == 1)
        #expect(ScaleBench.listedCount("garbage") == nil)
    }
}
