/// Parses durations as users type them, the one way every duration option reads them
/// (`--trace-interval`, `--stall-timeout`, `--flush-idle`): a non-negative number of
/// seconds, bare or with a unit, `ms`, `s` or `m`, and a fraction allowed: `2`, `0.5`,
/// `200ms`, `1.5s`, `2m`, `0`.
public enum Durations {
    /// What a message says a duration looks like.
    public static let forms = "seconds, or with ms, s or m: 0.5, 200ms, 1.5s, 2m"

    /// Nanoseconds, or nil when `text` is not such a duration below a day.
    public static func parse(_ text: String) -> UInt64? {
        var number = Substring(text), scale = 1e9
        if number.hasSuffix("ms") {
            number = number.dropLast(2)
            scale = 1e6
        } else if number.hasSuffix("s") {
            number = number.dropLast()
        } else if number.hasSuffix("m") {
            number = number.dropLast()
            scale = 60e9
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let value = Double(number), value.isFinite, value * scale / 1e9 < 86_400 else { return nil }
        return UInt64(value * scale)
    }
}
