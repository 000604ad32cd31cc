import Testing
@testable import SluiceCore

@Suite struct HadoopCountersTests {
    @Test func counterNamesAreTheLabelsWithoutCommas() {
        #expect(HadoopCounters.counterName("exec jq#2") == "exec jq#2")
        #expect(HadoopCounters.counterName("exec a,b") == "exec a_b")
    }

    /// Milliseconds are those of the microseconds `--stats=json` prints, whatever the
    /// rounding there did: the increments then sum to the JSON's value exactly.
    @Test(arguments: [0.0, 0.000_999_4, 0.000_999_5, 0.001, 1.234_567_89, 2.999_999_6, 86_400.000_000_4])
    func millisecondsOfThePrintedMicroseconds(_ seconds: Double) {
        let printed = Decimal.format(seconds, places: 6)
        let micros = Int(printed.filter { $0 != "." })!
        #expect(HadoopCounters.milliseconds(seconds) == micros / 1000, "\(printed)")
    }

    @Test(arguments: [
        ("--stats=hadoop", nil, true), ("--stats=hadoop,json", StatsFormat.json, true),
        ("--stats=table,hadoop", StatsFormat.table, true), ("--stats=json", StatsFormat.json, false),
        ("--stats", StatsFormat.table, false),
    ] as [(String, StatsFormat?, Bool)])
    func statsFormats(_ option: String, _ format: StatsFormat?, _ hadoop: Bool) throws {
        guard case .run(let g, _) = try CommandParser.parse([option, "cat"]) else {
            Issue.record("not a run"); return
        }
        #expect(g.stats == format)
        #expect(g.emitsHadoopCounters == hadoop)
    }
}
