/// Number formatting for messages, without Foundation.
enum Formatting {
    /// `value` rounded to `places` decimals, e.g. `decimal(2.345, 1) == "2.3"`.
    static func decimal(_ value: Double, _ places: Int = 1) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int64(scaled / scale)
        let fraction = Int64(scaled) - whole * Int64(scale)
        var text = String(whole)
        if places > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: max(0, places - digits.count)) + digits
        }
        return (value < 0 && scaled != 0 ? "-" : "") + text
    }
}
