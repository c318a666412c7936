#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Zipf popularity over `count` ranks: rank r (0-based) is drawn with probability proportional to
/// 1 / (r + 1)^exponent. Sampling inverts the cumulative distribution by binary search, O(log n).
public struct ZipfDistribution: Sendable {
    public let count: Int
    public let exponent: Double
    /// Cumulative probabilities, the last one exactly 1.
    private let cumulative: [Double]

    public init(count: Int, exponent: Double) {
        precondition(count > 0, "a Zipf distribution needs at least one rank")
        self.count = count
        self.exponent = exponent
        var running = 0.0
        var sums = [Double]()
        sums.reserveCapacity(count)
        for rank in 1...count {
            running += 1 / pow(Double(rank), exponent)
            sums.append(running)
        }
        let total = running
        cumulative = sums.map { $0 / total }
    }

    /// The probability of rank `rank` (0-based).
    public func probability(ofRank rank: Int) -> Double {
        rank == 0 ? cumulative[0] : cumulative[rank] - cumulative[rank - 1]
    }

    /// The share of all draws that land in ranks `0..<ranks`.
    public func share(ofTop ranks: Int) -> Double {
        ranks <= 0 ? 0 : cumulative[min(ranks, count) - 1]
    }

    public func sample(using random: inout SeededRandom) -> Int {
        let u = random.unit()
        var low = 0
        var high = count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > u { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
