import MeshCore
@testable import RemoteRuntimes
import Testing

/// ModelMesh's reference counting of loads and unloads per model id.
@Suite struct LoadReferencesTests {
    let m = try! ModelID("m")

    @Test func theLastReleaseUnloadsAndASecondUserSharesTheLoad() async {
        let references = LoadReferences()
        #expect(await references.beginLoad(m) == .load)
        await references.loadFinished(m, sizeBytes: 42)
        #expect(await references.beginLoad(m) == .reuse(sizeBytes: 42))
        #expect(await references.beginUnload(m) == false)
        #expect(await references.beginUnload(m) == true)
        #expect(await references.unloadAttempted(m, succeeded: true) == .stop)
        #expect(await references.phase(of: m) == nil)
        #expect(await references.beginLoad(m) == .load)
    }

    @Test func aLoadBetweenUnloadRetriesKeepsTheModelTheRuntimeStillHolds() async {
        let references = LoadReferences()
        _ = await references.beginLoad(m)
        await references.loadFinished(m, sizeBytes: 7)
        #expect(await references.beginUnload(m))
        #expect(await references.unloadAttempted(m, succeeded: false) == .retry)
        // Evicted, then wanted again before the retry: no unload, no load.
        #expect(await references.beginLoad(m) == .reuse(sizeBytes: 7))
        #expect(await references.retryUnload(m) == false)
        #expect(await references.phase(of: m) == .loaded(sizeBytes: 7))
    }

    @Test func aLoadWaitsForAnUnloadInFlight() async {
        let references = LoadReferences()
        _ = await references.beginLoad(m)
        await references.loadFinished(m, sizeBytes: 1)
        #expect(await references.beginUnload(m))
        async let next = references.beginLoad(m)
        // The waiting load goes on once the unload settles, and then loads afresh.
        try? await Task.sleep(for: .milliseconds(20))
        #expect(await references.unloadAttempted(m, succeeded: true) == .stop)
        #expect(await next == .load)
    }

    @Test func anUnloadThatNeverSucceedsLosesTheIdUntilTheRuntimeRestarts() async {
        let references = LoadReferences()
        _ = await references.beginLoad(m)
        await references.loadFinished(m, sizeBytes: 1)
        #expect(await references.beginUnload(m))
        _ = await references.unloadAttempted(m, succeeded: false)
        await references.gaveUp(m)
        #expect(await references.beginLoad(m) == .lost)
        await references.reset()
        #expect(await references.beginLoad(m) == .load)
    }

    @Test func aFailedLoadLeavesNothingCounted() async {
        let references = LoadReferences()
        _ = await references.beginLoad(m)
        await references.loadFinished(m, sizeBytes: nil)
        #expect(await references.phase(of: m) == nil)
    }
}
