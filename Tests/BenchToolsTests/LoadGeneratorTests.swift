import LoadGenerator
import OpenInference
import OpenInferenceGRPC
import Testing

@Suite struct OpenLoopScheduleTests {
    @Test func requestsAreDueAtFixedIntervalsFromTheStart() {
        let start = ContinuousClock.now
        let schedule = OpenLoopSchedule(start: start, requestsPerSecond: 1000, duration: .seconds(2))
        #expect(schedule.interval == .milliseconds(1))
        #expect(schedule.due(0) == start)
        #expect(schedule.due(250) == start + .milliseconds(250))
        #expect(schedule.count == 2000)
    }

    @Test func aLateSenderSeesEverythingAlreadyDue() {
        let start = ContinuousClock.now
        let schedule = OpenLoopSchedule(start: start, requestsPerSecond: 100, duration: .seconds(1))
        #expect(schedule.dueCount(at: start - .milliseconds(1)) == 0)
        #expect(schedule.dueCount(at: start) == 1)
        #expect(schedule.dueCount(at: start + .milliseconds(35)) == 4)
        #expect(schedule.dueCount(at: start + .seconds(5)) == schedule.count)
    }

    @Test func aRateThatDoesNotDivideTheDurationRoundsTheCountUp() {
        let schedule = OpenLoopSchedule(start: .now, requestsPerSecond: 3, duration: .seconds(1))
        #expect(schedule.count == 3)
        let odd = OpenLoopSchedule(start: .now, requestsPerSecond: 3, duration: .milliseconds(1100))
        #expect(odd.count == 4)
    }
}

@Suite struct LatencyRecorderTests {
    @Test func percentilesOfAUniformSpread() {
        var recorder = LatencyRecorder()
        for micros in 1...1000 { recorder.record(.microseconds(micros)) }
        let summary = recorder.summary
        #expect(summary.count == 1000)
        #expect(summary.p50 == 500)
        #expect(summary.p90 == 900)
        #expect(summary.p99 == 990)
        #expect(summary.max == 1000)
        #expect(abs(summary.mean - 500.5) < 1)
    }

    @Test func mergingAddsCountsAndKeepsTheLargestMaximum() {
        var a = LatencyRecorder()
        var b = LatencyRecorder()
        for _ in 0..<90 { a.record(.microseconds(100)) }
        for _ in 0..<10 { b.record(.milliseconds(50)) }
        a.merge(b)
        #expect(a.count == 100)
        #expect(a.summary.p50 == 100)
        // 50,000 µs at three significant digits: within 0.1%.
        #expect(a.summary.max >= 50_000 && a.summary.max <= 50_050)
        #expect(a.summary.p99 >= 50_000)
    }

    @Test func emptyRecorderReportsZeros() {
        #expect(LatencyRecorder().summary == LatencySummary(count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0))
    }

    @Test func subMicrosecondLatenciesCountAsOneMicrosecond() {
        var recorder = LatencyRecorder()
        recorder.record(.nanoseconds(300))
        #expect(recorder.summary.p50 == 1)
    }
}

@Suite struct LoadOptionsTests {
    static let valid = LoadOptions(targets: ["http://127.0.0.1:1"], models: ["m"], mode: .closedLoop(concurrency: 4))

    @Test func aValidConfigurationPasses() throws {
        try Self.valid.validate()
    }

    @Test(arguments: [
        ("targets", "give at least one --target URL"),
        ("target-scheme", "--target 127.0.0.1:1 is not an http://, https:// or grpc:// URL"),
        ("grpc-port", "--target grpc://127.0.0.1 is not grpc://host:port"),
        ("models", "give at least one --model"),
        ("model-slash", "--model \"a/b\" is not a model id"),
        ("rate", "--rate must be a positive number of requests per second"),
        ("concurrency", "--concurrency must be at least 1"),
        ("no-end", "give --duration or --requests"),
        ("open-without-duration", "an open loop needs --duration"),
        ("elements", "--elements must be at least 1"),
        ("requests", "--requests must be at least 1"),
    ])
    func eachMistakeNamesTheOption(change: String, message: String) {
        var options = Self.valid
        switch change {
        case "targets": options.targets = []
        case "target-scheme": options.targets = ["127.0.0.1:1"]
        case "grpc-port": options.targets = ["grpc://127.0.0.1"]
        case "models": options.models = []
        case "model-slash": options.models = ["a/b"]
        case "rate": options.mode = .openLoop(requestsPerSecond: 0)
        case "concurrency": options.mode = .closedLoop(concurrency: 0)
        case "no-end": options.duration = nil
        case "open-without-duration": options.mode = .openLoop(requestsPerSecond: 10); options.duration = nil; options.maxRequests = 5
        case "elements": options.tensorElements = 0
        case "requests": options.maxRequests = 0
        default: Issue.record("unknown change \(change)")
        }
        #expect(throws: LoadOptions.Invalid(message)) { try options.validate() }
    }
}

@Suite struct RequestPlanTests {
    @Test func grpcTargetsGetOneEncodedMessagePerModel() throws {
        let options = LoadOptions(targets: ["grpc://127.0.0.1:8033", "http://a:1"], models: ["m0", "m1"], mode: .closedLoop(concurrency: 1))
        let plan = RequestPlan(options)
        #expect(plan.grpcTargets == [GRPCTarget("grpc://127.0.0.1:8033")!])
        #expect(plan.destinations.filter { $0.grpc != nil }.map(\.model) == ["m0", "m1"])
        let message = try Inference_ModelInferRequest(serializedBytes: plan.grpcMessages["m1"] ?? [])
        #expect(message.modelName == "m1")
        let request = try InferenceRequest(protobuf: message)
        #expect(request.inputs.first?.floatValues() == [0, 0.25, 0.5, 0.75])
    }

    @Test func grpcTargetsParseHostAndPort() {
        #expect(GRPCTarget("grpc://mesh-0.mesh:8033/") == GRPCTarget("grpc://mesh-0.mesh:8033"))
        #expect(GRPCTarget("grpc://mesh-0.mesh:8033")?.host == "mesh-0.mesh")
        #expect(GRPCTarget("grpc://h:0") == nil)
        #expect(GRPCTarget("grpc://:80") == nil)
        #expect(GRPCTarget("http://h:80") == nil)
    }

    @Test func roundRobinVisitsEveryPeerForEveryModel() {
        let options = LoadOptions(targets: ["http://a:1", "http://b:2/"], models: ["m0", "m1", "m2"], mode: .closedLoop(concurrency: 1))
        let plan = RequestPlan(options)
        var random = SystemRandomNumberGenerator()
        let first = (0..<6).map { plan.destination($0, using: &random) }
        #expect(Set(first).count == 6)
        #expect(first[0].url == "http://a:1/v2/models/m0/infer")
        #expect(first[1].url == "http://b:2/v2/models/m0/infer")
        #expect(plan.destination(6, using: &random) == first[0])
    }

    @Test func theJSONBodyDecodesToTheRequestedTensor() throws {
        var options = LoadOptions(targets: ["http://a:1"], models: ["m"], mode: .closedLoop(concurrency: 1))
        options.tensorElements = 16
        let plan = RequestPlan(options)
        #expect(plan.headers.contains { $0 == ("content-type", "application/json") })
        let request = try RESTDecoding.request(plan.body)
        let values = try #require(request.input(named: "INPUT0")?.floatValues())
        #expect(values.count == 16)
        #expect(values[5] == 1.25)
    }

    @Test func theBinaryBodyCarriesItsJSONLength() throws {
        var options = LoadOptions(targets: ["http://a:1"], models: ["m"], mode: .closedLoop(concurrency: 1))
        options.binary = true
        options.tensorElements = 8
        let plan = RequestPlan(options)
        let length = try #require(plan.headers.first { $0.0 == "inference-header-content-length" }.flatMap { Int($0.1) })
        #expect(plan.body.count == length + 8 * 4)
        let request = try RESTDecoding.request(plan.body, jsonLength: length)
        #expect(request.input(named: "INPUT0")?.floatValues()?.count == 8)
    }
}

@Suite struct LoadReportTests {
    @Test func throughputCountsOnlySuccesses() {
        let report = LoadReport(requests: 1000, errors: 200, errorSamples: ["HTTP 503": 200], seconds: 4,
                                latency: LatencyRecorder().summary)
        #expect(report.throughput == 200)
        #expect(report.text.contains("200× HTTP 503"))
    }
}
