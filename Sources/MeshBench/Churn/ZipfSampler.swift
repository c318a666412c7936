import Foundation

/// Draws model ranks 0..<count with probability proportional to 1 / (rank + 1)^exponent
/// (exponent 0: uniform), by binary search over the cumulative weights.
public struct ZipfSampler: Sendable {
    public let exponent: Double
    private let cumulative: [Double]

    public init(count: Int, exponent: Double) {
        precondition(count > 0, "a Zipf sampler needs at least one rank")
        self.exponent = exponent
        var total = 0.0
        cumulative = (1...count).map { rank in
            total += exponent == 0 ? 1 : 1 / pow(Double(rank), exponent)
            return total
        }
    }

    public var count: Int { cumulative.count }

    /// The share of draws that fall on `rank`.
    public func probability(of rank: Int) -> Double {
        let previous = rank == 0 ? 0 : cumulative[rank - 1]
        return (cumulative[rank] - previous) / cumulative[cumulative.count - 1]
    }

    public func next(using random: inout some RandomNumberGenerator) -> Int {
        let point = Double.random(in: 0..<cumulative[cumulative.count - 1], using: &random)
        var low = 0, high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > point { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
