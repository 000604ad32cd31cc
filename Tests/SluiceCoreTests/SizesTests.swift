import Testing
@testable import SluiceCore

@Suite struct SizesTests {
    @Test(arguments: [
        ("0", 0), ("1", 1), ("65536", 65536), ("64K", 65536), ("64k", 65536), ("64KiB", 65536),
        ("4M", 4 << 20), ("4MiB", 4 << 20), ("1G", 1 << 30), ("1GiB", 1 << 30), ("2T", 2 << 40),
        // Decimals, and the KB-style suffixes in powers of 1000, as coreutils and rsync.
        ("1.5M", 1_572_864), ("1.5K", 1536), ("0.5k", 512), ("10MB", 10_000_000), ("1KB", 1000),
        ("1kB", 1000), ("2GB", 2_000_000_000), ("1TB", 1_000_000_000_000), ("1Mi", 1 << 20),
        ("1.0000000001K", 1024), ("0.001K", 1), ("1.5", 1), ("3mb", 3_000_000),
    ])
    func parsesSizes(_ text: String, _ expected: Int) {
        #expect(Sizes.parse(text) == .success(expected))
    }

    @Test(arguments: ["", "K", "-1", ".5M", "1.M", "12X", "1KiBB", "1 M", "0x10", "M1", "1MM", "1iB", "1.5.5K"])
    func rejectsInvalid(_ text: String) {
        #expect(Sizes.parse(text) == .failure(.invalid))
    }

    @Test(arguments: ["9223372036854775808", "99999999999999999999", "8388608T", "9007199254740992K"])
    func rejectsOverflow(_ text: String) {
        #expect(Sizes.parse(text) == .failure(.overflow))
    }

    /// Junk is invalid however many digits it starts with: only a well-formed number
    /// is too large.
    @Test(arguments: ["99999999999999999999x", "99999999999999999999.5", "99999999999999999999KK"])
    func junkBeforeOverflow(_ text: String) {
        #expect(Sizes.parse(text, allowsFraction: false) == .failure(.invalid))
    }

    /// Counts past `Int.max` mean "all", as coreutils and GNU grep take them; a leading
    /// `+` is the number's own sign.
    @Test func countsClampAndTakeAPlus() throws {
        let reader = OptionReader(ParsedOptions(), owner: "head")
        #expect(try reader.parseCount("99999999999999999999", for: "-n") == Int.max)
        #expect(try reader.parseCount("18446744073709551615", for: "-n") == Int.max)
        #expect(try reader.parseCount("9223372036854775807", for: "-n") == Int.max)
        #expect(try reader.parseCount("20000000T", for: "-n") == Int.max)
        #expect(try reader.parseCount("+5", for: "-n") == 5)
        #expect(throws: SluiceError.self) { try reader.parseCount("++5", for: "-n") }
        #expect(throws: SluiceError.self) { try reader.parseCount("+-5", for: "-n") }
        #expect(throws: SluiceError.self) { try reader.parseCount("1e99", for: "-n") }
    }

    @Test func countsAreWhole() {
        #expect(Sizes.parse("1.5", allowsFraction: false) == .failure(.invalid))
        #expect(Sizes.parse("2K", allowsFraction: false) == .success(2048))
    }

    @Test func largestThatFits() {
        #expect(Sizes.parse("8388607T") == .success(8_388_607 << 40))
        #expect(Sizes.parse("9223372036854775807") == .success(Int.max))
    }

    @Test func humanUnits() {
        #expect(Sizes.human(0) == "0 B")
        #expect(Sizes.human(1023) == "1023 B")
        #expect(Sizes.human(1024) == "1 KiB")
        #expect(Sizes.human(1536) == "1.50 KiB")
        #expect(Sizes.human(16 << 20) == "16 MiB")
        #expect(Sizes.human((1 << 30) + (1 << 29)) == "1.50 GiB")
    }

    @Test func decimalFormatting() {
        #expect(Decimal.format(1.23456, places: 2) == "1.23")
        #expect(Decimal.format(0.005, places: 2) == "0.01")
        #expect(Decimal.format(-1.5, places: 1) == "-1.5")
        #expect(Decimal.format(2, places: 0) == "2")
        #expect(Decimal.format(0.000001, places: 6) == "0.000001")
    }
}

/// Every duration option reads a duration one way (`Durations`): seconds, bare or with
/// `ms`, `s` or `m`, fractions too.
@Suite struct DurationsTests {
    @Test(arguments: [
        ("5", 5_000_000_000), ("5s", 5_000_000_000), ("0.5", 500_000_000), ("0.5s", 500_000_000),
        ("200ms", 200_000_000), ("1.5s", 1_500_000_000), ("2m", 120_000_000_000), ("0.5m", 30_000_000_000),
        ("0", 0),
    ] as [(String, UInt64)])
    func forms(_ text: String, _ nanos: UInt64) {
        #expect(Durations.parse(text) == nanos)
    }

    @Test(arguments: ["", "s", "ms", "m", "-1", "1h", "1 s", "5x", "1e3", "1440m"])
    func notDurations(_ text: String) {
        #expect(Durations.parse(text) == nil)
    }

    /// `--stall-timeout` took bare seconds only and `--flush-idle` units: each takes both.
    @Test func everyDurationOptionTakesEveryForm() throws {
        for (words, seconds) in [(["--stall-timeout", "300ms"], 0.3), (["--stall-timeout", "2"], 2.0),
                                 (["--stall-timeout", "1m"], 60.0)] {
            guard case .run(let g, _) = try CommandParser.parse(words) else { Issue.record("\(words)"); continue }
            #expect(g.stallTimeoutSeconds == seconds, "\(words)")
        }
        for (words, nanos) in [(["--trace-interval", "5"], UInt64(5_000_000_000)), (["--trace-interval", "0.5"], 500_000_000),
                               (["--trace-interval", "1m"], 60_000_000_000)] {
            guard case .run(let g, _) = try CommandParser.parse(words) else { Issue.record("\(words)"); continue }
            #expect(g.traceIntervalNanos == nanos, "\(words)")
        }
        var cursor = ArgumentCursor(["--flush-idle", "1.5"])
        let parser = OptionParser(options: [OptionSpec(nil, "flush-idle", .required("D"), help: "")], owner: "gzip")
        let args = OptionReader(try parser.parse(&cursor), owner: "gzip")
        #expect(try args.flushIdleNanos(default: nil) == 1_500_000_000)
        #expect(throws: SluiceError.usage("--stall-timeout: invalid duration '5x' (seconds, or with ms, s or m: 0.5, 200ms, 1.5s, 2m)")) {
            _ = try CommandParser.parse(["--stall-timeout", "5x"])
        }
        #expect(throws: SluiceError.usage("--trace-interval: duration must be at least 10ms: '5ms'")) {
            _ = try CommandParser.parse(["--trace-interval", "5ms"])
        }
    }
}
