import Synchronization

/// When a runtime server's supervisor checks it next: every interval, or within 50 ms of a
/// request that found the server refusing connections.
final class CheckSchedule: Sendable {
    private let suspected = Atomic<Bool>(false)

    /// A request was refused: check now.
    func suspect() {
        suspected.store(true, ordering: .relaxed)
    }

    /// Returns when the next check is due (or the task is cancelled).
    func waitForNextCheck(interval: Duration) async {
        let next = ContinuousClock.now + interval
        while ContinuousClock.now < next, !suspected.load(ordering: .relaxed), !Task.isCancelled {
            try? await Task.sleep(for: min(.milliseconds(50), next - .now))
        }
        suspected.store(false, ordering: .relaxed)
    }
}
