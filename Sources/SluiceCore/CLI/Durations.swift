/// Parses durations as users type them: `200ms`, `1.5s`, `2` (seconds), `0`.
public enum Durations {
    /// Nanoseconds, or nil when `text` is not a non-negative number of seconds, with an
    /// optional `s` or `ms`, below a day.
    public static func parse(_ text: String) -> UInt64? {
        var number = Substring(text), scale = 1e9
        if number.hasSuffix("ms") {
            number = number.dropLast(2)
            scale = 1e6
        } else if number.hasSuffix("s") {
            number = number.dropLast()
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let value = Double(number), value.isFinite, value * scale / 1e9 < 86_400 else { return nil }
        return UInt64(value * scale)
    }
}
