/// Parses sizes and counts as users type them: `65536`, `64K`, `64KiB`, `4M`, `1G`.
/// Suffixes are powers of 1024 (`K`/`KiB`, `M`/`MiB`, `G`/`GiB`, `T`/`TiB`, either case);
/// `KB`-style suffixes are refused rather than guessed at, since tools disagree on them.
public enum Sizes {
    public enum Failure: Error, Equatable {
        /// Not a number with a known suffix.
        case invalid
        /// Does not fit in 63 bits.
        case overflow
    }

    /// The byte count `text` names, or a failure.
    public static func parse(_ text: String) -> Result<Int, Failure> {
        let utf8 = Array(text.utf8)
        var i = 0
        var value = 0
        while i < utf8.count, utf8[i] >= 0x30, utf8[i] <= 0x39 {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(utf8[i] - 0x30))
            if o1 || o2 { return .failure(.overflow) }
            value = a
            i += 1
        }
        if i == 0 { return .failure(.invalid) }
        let suffix = String(decoding: utf8[i...], as: UTF8.self)
        guard let shift = shift(for: suffix) else { return .failure(.invalid) }
        if shift > 0 && value > (Int.max >> shift) { return .failure(.overflow) }
        return .success(value << shift)
    }

    private static func shift(for suffix: String) -> Int? {
        switch suffix {
        case "": return 0
        case "K", "k", "KiB", "kiB", "Ki": return 10
        case "M", "m", "MiB", "Mi": return 20
        case "G", "g", "GiB", "Gi": return 30
        case "T", "t", "TiB", "Ti": return 40
        default: return nil
        }
    }

    /// `bytes` in the largest binary unit that keeps it readable: `512 B`, `64 KiB`,
    /// `1.5 MiB`, `16 MiB`. Exact multiples print without decimals.
    public static func human(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var unit = 0
        var scaled = Double(bytes)
        while abs(scaled) >= 1024 && unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        let isExact = bytes % (1 << (10 * unit)) == 0
        return "\(isExact ? String(Int(scaled)) : Decimal.format(scaled, places: scaled < 10 ? 2 : 1)) \(units[unit])"
    }
}

/// Fixed-point formatting without Foundation.
public enum Decimal {
    /// `value` with `places` digits after the point, rounded half away from zero.
    public static func format(_ value: Double, places: Int) -> String {
        if !value.isFinite { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let rounded = (abs(value) * scale).rounded()
        let sign = value < 0 && rounded != 0 ? "-" : ""
        if rounded >= 9.0e18 { return sign + String(Int(abs(value))) }
        let whole = Int(rounded) / Int(scale)
        let fraction = Int(rounded) % Int(scale)
        if places == 0 { return sign + String(whole) }
        var digits = String(fraction)
        while digits.count < places { digits = "0" + digits }
        return "\(sign)\(whole).\(digits)"
    }
}
