import Glibc

/// Typed access to parsed options, with the usage errors a bad value deserves.
public struct OptionReader {
    public let parsed: ParsedOptions
    /// `head`, or nil for the global options; prefixes messages.
    public let owner: String?

    public init(_ parsed: ParsedOptions, owner: String?) {
        self.parsed = parsed
        self.owner = owner
    }

    public var operands: [String] { parsed.operands }
    public func has(_ key: String) -> Bool { parsed.has(key) }
    public func last(_ key: String) -> GivenOption? { parsed.last(key) }

    /// A usage error from this owner.
    public func fail(_ message: String) -> SluiceError {
        .usage(owner.map { "\($0): \(message)" } ?? message, stage: owner)
    }

    public func size(_ key: String, default value: Int, min: Int = 0, max: Int = Int.max) throws(SluiceError) -> Int {
        try optionalSize(key, min: min, max: max) ?? value
    }

    public func optionalSize(_ key: String, min: Int = 0, max: Int = Int.max) throws(SluiceError) -> Int? {
        guard let option = parsed.last(key), let text = option.value else { return nil }
        return try parseSize(text, for: option.spelling, min: min, max: max)
    }

    /// The last value of the count option `key` (`parseCount`: `-m 10`, `-A 1K`), if given.
    public func optionalCount(_ key: String) throws(SluiceError) -> Int? {
        guard let option = parsed.last(key), let text = option.value else { return nil }
        return try parseCount(text, for: option.spelling)
    }

    /// `--flush-idle DURATION`, as gzip and `exec -j` read it: the nanoseconds, nil for 0
    /// (never), `value` when not given; worded as `--flush-idle: invalid duration 'x' (...)`.
    public func flushIdleNanos(default value: UInt64?) throws(SluiceError) -> UInt64? {
        guard let nanos = try optionalDuration("flush-idle") else { return value }
        return nanos == 0 ? nil : nanos
    }

    /// The last value of the duration option `key` in nanoseconds (`Durations`), if
    /// given, at least `min`; worded as `--stall-timeout: invalid duration 'x' (...)`.
    public func optionalDuration(_ key: String, min: UInt64 = 0, shown minimum: String = "") throws(SluiceError) -> UInt64? {
        guard let given = parsed.last(key), let text = given.value else { return nil }
        guard let nanos = Durations.parse(text) else {
            throw fail("\(given.spelling): invalid duration '\(text)' (\(Durations.forms))")
        }
        if nanos < min { throw fail("\(given.spelling): duration must be at least \(minimum): '\(text)'") }
        return nanos
    }

    /// A thread or copy count (`-p N`, `-j N`): 1 to 256; `value` when not given; worded
    /// as `-p: invalid number of threads 'x' (use 1 to 256)`.
    public func threadCount(_ key: String, default value: Int, noun: String = "threads") throws(SluiceError) -> Int {
        guard let given = parsed.last(key), let text = given.value else { return value }
        guard let n = Int(text), (1...256).contains(n) else {
            throw fail("\(given.spelling): invalid number of \(noun) '\(text)' (use 1 to 256)")
        }
        return n
    }

    /// A SIZE value with range checks, worded as `--hwm: invalid size '12X' (...)`.
    public func parseSize(_ text: String, for spelling: String, min: Int = 0, max: Int = Int.max) throws(SluiceError) -> Int {
        switch Sizes.parse(text) {
        case .failure(.invalid):
            throw fail("\(spelling): invalid size '\(text)' (bytes, or with K, M, G, T: 64K, 1.5M, 1G)")
        case .failure(.overflow):
            throw fail("\(spelling): size is too large: '\(text)'")
        case .success(let n):
            if n < min { throw fail("\(spelling): size must be at least \(Sizes.human(min)): '\(text)'") }
            if n > max { throw fail("\(spelling): size must be at most \(Sizes.human(max)): '\(text)'") }
            return n
        }
    }

    /// The last of `-n`/`--lines` and `-c`/`--bytes`, as head and tail read them: whether
    /// it counts lines, its number, and whether it began with `sign` (`-` for head's "all
    /// but", `+` for tail's "from"). A leading `-` is taken off (for tail it means
    /// nothing); a `+` stays with the number, which may begin with one, as coreutils'
    /// strtoumax reads it: `head -n +1`, `head -n -+1`, `tail -n -+1`, not `tail -n ++1`.
    public func countOption(sign: Character) throws(SluiceError) -> (isLines: Bool, count: Int, isSigned: Bool)? {
        guard let last = parsed.given.last(where: { $0.key == "lines" || $0.key == "bytes" }),
              let text = last.value else { return nil }
        let number = text.first == "-" ? String(text.dropFirst()) : text
        let count = try parseCount(number, for: last.spelling, shown: text)
        return (last.key == "lines", count, text.first == sign)
    }

    /// A count such as `-n 10`, `-n +10` (suffixes allowed, as in GNU head: `1K` lines).
    /// A count too large for an `Int` is `Int.max`, as current coreutils and GNU grep
    /// take any count past their own range: "all of it" (or, for `head -n -N`, none).
    /// `shown` is the value as the user typed it, when `text` is only its number part.
    public func parseCount(_ text: String, for spelling: String, max: Int = Int.max,
                           shown: String? = nil) throws(SluiceError) -> Int {
        let typed = shown ?? text
        let digits = text.first == "+" ? String(text.dropFirst()) : text
        let n: Int
        switch Sizes.parse(digits, allowsFraction: false) {
        case .failure(.invalid): throw fail("\(spelling): invalid number '\(typed)'")
        case .failure(.overflow): n = Int.max
        case .success(let value): n = value
        }
        if n > max { throw fail("\(spelling): number must be at most \(max): '\(typed)'") }
        return n
    }
}
