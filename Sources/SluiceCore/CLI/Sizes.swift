/// Parses sizes and counts as users type them: `65536`, `64K`, `64KiB`, `4M`, `1.5G`,
/// `10MB`. As in coreutils and rsync, `K`, `Ki` and `KiB` (any case of the letter) are
/// powers of 1024, and `KB` powers of 1000; likewise M, G and T. A size may have a
/// fractional part (`1.5M` is 1572864 bytes, rounded down to a whole byte); a count
/// (`head -n`) may not.
public enum Sizes {
    public enum Failure: Error, Equatable {
        /// Not a number with a known suffix.
        case invalid
        /// Well formed, but does not fit in 63 bits.
        case overflow
    }

    /// The byte count `text` names, or a failure: `.invalid` for any text that is not a
    /// number with a known suffix, however many digits it has (`99999999999999999999x`),
    /// and `.overflow` only for a well-formed one too large.
    public static func parse(_ text: String, allowsFraction: Bool = true) -> Result<Int, Failure> {
        let utf8 = Array(text.utf8)
        var i = 0
        var whole = 0
        var isTooLarge = false
        while i < utf8.count, isDigit(utf8[i]) {
            let (m, o1) = whole.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(utf8[i] - 0x30))
            isTooLarge = isTooLarge || o1 || o2
            whole = a
            i += 1
        }
        if i == 0 { return .failure(.invalid) }
        // Up to 9 fractional digits, as a numerator over 10^digits.
        var fraction = 0, scale = 1
        if allowsFraction, i < utf8.count, utf8[i] == 0x2E {
            i += 1
            let first = i
            while i < utf8.count, isDigit(utf8[i]) {
                if scale < 1_000_000_000 {
                    fraction = fraction * 10 + Int(utf8[i] - 0x30)
                    scale *= 10
                }
                i += 1
            }
            if i == first { return .failure(.invalid) }
        }
        guard let unit = multiplier(for: String(decoding: utf8[i...], as: UTF8.self)) else {
            return .failure(.invalid)
        }
        if isTooLarge { return .failure(.overflow) }
        let (bytes, o1) = whole.multipliedReportingOverflow(by: unit)
        let (part, o2) = fraction.multipliedReportingOverflow(by: unit)
        if o1 || o2 { return .failure(.overflow) }
        let (sum, o3) = bytes.addingReportingOverflow(part / scale)
        return o3 ? .failure(.overflow) : .success(sum)
    }

    @inline(__always) private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// The unit a suffix names: `K`/`Ki`/`KiB` 1024, `KB` 1000, and so on to T.
    private static func multiplier(for suffix: String) -> Int? {
        if suffix.isEmpty { return 1 }
        let letters: [Character] = ["K", "M", "G", "T"]
        guard let letter = suffix.first.map({ Character($0.uppercased()) }),
              let power = letters.firstIndex(of: letter) else { return nil }
        let rest = suffix.dropFirst()
        let base: Int
        switch rest {
        case "", "i", "iB", "ib": base = 1024
        case "B", "b": base = 1000
        default: return nil
        }
        var unit = 1
        for _ in 0...power { unit *= base }
        return unit
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
    /// `n` with thousands separated by commas: `1,234,567`.
    public static func grouped(_ n: Int) -> String {
        let digits = Array(String(n.magnitude))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(d)
        }
        return (n < 0 ? "-" : "") + out
    }

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
