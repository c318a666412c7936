/// Arithmetic that clamps at the type's bounds instead of trapping.
///
/// Numbers that arrive from other peers, from etcd or from clients feed sums, differences and
/// products in routing and placement; a trap there stops the whole peer. Values are validated
/// where they arrive, and the arithmetic on them saturates as a second line of defence.
extension FixedWidthInteger {
    @inlinable
    public func addingSaturating(_ other: Self) -> Self {
        let (result, overflow) = addingReportingOverflow(other)
        guard overflow else { return result }
        return other > 0 ? .max : .min
    }

    @inlinable
    public func subtractingSaturating(_ other: Self) -> Self {
        let (result, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return result }
        return other > 0 ? .min : .max
    }

    @inlinable
    public func multipliedSaturating(by other: Self) -> Self {
        let (result, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return result }
        return (self < 0) == (other < 0) ? .max : .min
    }
}
