import MeshCore

/// Number formatting for the report, without Foundation.
enum ReportFormatting {
    /// `value` rounded to `places` decimals, with thousands grouped: 12,345.6.
    static func decimal(_ value: Double, _ places: Int = 1) -> String {
        Formatting.decimal(value, places, groupingThousands: true)
    }

    static func percent(_ fraction: Double, _ places: Int = 1) -> String {
        decimal(fraction * 100, places) + " %"
    }

    static func count(_ value: Int) -> String { Formatting.grouped(value) }

    static func bytes(_ value: Double) -> String { ByteCount(Int64(value)).description }

    /// `1 h`, `90 s`, `250 ms`: the largest unit that divides the duration.
    static func duration(_ duration: Duration) -> String {
        let millis = duration.milliseconds
        if millis % 3_600_000 == 0, millis > 0 { return "\(millis / 3_600_000) h" }
        if millis % 1000 == 0 { return "\(millis / 1000) s" }
        return "\(millis) ms"
    }

    /// A measured run time: `2 min 31 s`, `12.3 s`.
    static func elapsed(_ duration: Duration) -> String {
        let seconds = duration.seconds
        if seconds >= 60 {
            let whole = Int(seconds.rounded())
            return "\(whole / 60) min \(whole % 60) s"
        }
        return decimal(seconds, 1) + " s"
    }
}
