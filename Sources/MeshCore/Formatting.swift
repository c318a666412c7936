/// Number formatting for messages and reports, without Foundation.
public enum Formatting {
    /// `value` rounded to `places` decimals, e.g. `decimal(2.345, 1) == "2.3"`; with
    /// `groupingThousands`, `12,345.6`.
    public static func decimal(_ value: Double, _ places: Int = 1, groupingThousands: Bool = false) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int64(scaled / scale)
        let fraction = Int64(scaled) - whole * Int64(scale)
        var text = groupingThousands ? grouped(whole) : String(whole)
        if places > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: max(0, places - digits.count)) + digits
        }
        return (value < 0 && scaled != 0 ? "-" : "") + text
    }

    /// `12,345`: digits in groups of three.
    public static func grouped(_ value: some BinaryInteger) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0, (digits.count - offset) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return value < 0 ? "-" + result : result
    }
}

/// Shortens user-supplied text echoed in error messages.
public enum TextLimit {
    public static func clip(_ text: String, to limit: Int = 64) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }
}
