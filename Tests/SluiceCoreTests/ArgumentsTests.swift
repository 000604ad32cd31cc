import Testing
@testable import SluiceCore

@Suite struct OptionParserTests {
    let options = [
        OptionSpec("n", "lines", .required("N"), help: ""),
        OptionSpec("c", "bytes", .required("N"), help: ""),
        OptionSpec("v", "invert-match", help: ""),
        OptionSpec("i", "ignore-case", help: ""),
        OptionSpec("e", "regexp", .required("P"), help: ""),
        OptionSpec(nil, "line-buffered", help: ""),
    ]

    func parse(_ words: [String], digitsKey: String? = nil, stops: Bool = false) throws(SluiceError) -> (ParsedOptions, ArgumentCursor) {
        var cursor = ArgumentCursor(words)
        let parser = OptionParser(options: options, digitsKey: digitsKey, stopsAtFirstOperand: stops, owner: "t")
        let parsed = try parser.parse(&cursor)
        return (parsed, cursor)
    }

    @Test(arguments: [["-n", "10"], ["-n10"], ["--lines", "10"], ["--lines=10"]])
    func valueForms(_ words: [String]) throws {
        let (parsed, _) = try parse(words)
        #expect(parsed.last("lines")?.value == "10")
        #expect(parsed.operands.isEmpty)
    }

    @Test(arguments: [["--by=10"], ["--b", "10"], ["--inv", "--bytes", "10"]])
    func uniquePrefixes(_ words: [String]) throws {
        let (parsed, _) = try parse(words)
        #expect(parsed.last("bytes")?.value == "10")
        #expect(parsed.last("bytes")?.spelling == "--bytes")
    }

    @Test func clusteredFlagsAndValue() throws {
        let (parsed, _) = try parse(["-vie", "x", "pat"])
        #expect(parsed.has("invert-match") && parsed.has("ignore-case"))
        #expect(parsed.last("regexp")?.value == "x")
        #expect(parsed.operands == ["pat"])
    }

    @Test func optionsAfterOperandsAndLastWins() throws {
        let (parsed, _) = try parse(["pat", "-n", "1", "-n", "2"])
        #expect(parsed.operands == ["pat"])
        #expect(parsed.last("lines")?.value == "2")
        #expect(parsed.all("lines").count == 2)
    }

    @Test func stopsAtPlus() throws {
        let (parsed, cursor) = try parse(["-n", "3", "+", "cat"])
        #expect(parsed.last("lines")?.value == "3")
        #expect(cursor.peek == "+")
    }

    @Test func valueMayBePlus() throws {
        let (parsed, cursor) = try parse(["-e", "+", "+", "cat"])
        #expect(parsed.last("regexp")?.value == "+")
        #expect(cursor.peek == "+")
    }

    @Test func dashDashMakesNextWordLiteral() throws {
        let (parsed, cursor) = try parse(["--", "+", "-v", "+", "next"])
        #expect(parsed.operands == ["+", "-v"])
        #expect(!parsed.has("invert-match"))
        #expect(cursor.peek == "+")
    }

    @Test func loneDashIsAnOperand() throws {
        let (parsed, _) = try parse(["-"])
        #expect(parsed.operands == ["-"])
    }

    @Test func digits() throws {
        let (parsed, _) = try parse(["-5"], digitsKey: "lines")
        #expect(parsed.last("lines")?.value == "5")
        #expect(parsed.last("lines")?.spelling == "-5")
    }

    @Test func stopsAtFirstOperand() throws {
        let (parsed, _) = try parse(["-v", "sed", "-n", "p"], stops: true)
        #expect(parsed.has("invert-match"))
        #expect(parsed.operands == ["sed", "-n", "p"])
    }

    @Test(arguments: [
        (["--lnes", "3"], "t: unknown option '--lnes' (did you mean '--lines'?)"),
        (["--zzz"], "t: unknown option '--zzz'"),
        (["--zzz=4"], "t: unknown option '--zzz'"),
        (["-x"], "t: unknown option '-x'"),
        (["-V"], "t: unknown option '-V' (did you mean '-v'?)"),
        (["-n"], "t: option '-n' needs a value"),
        (["--lines"], "t: option '--lines' needs a value"),
        (["--invert-match=yes"], "t: option '--invert-match' takes no value"),
        (["--line"], "t: option '--line' is ambiguous: '--lines', '--line-buffered'"),
        (["-5"], "t: unknown option '-5'"),
    ])
    func errors(_ words: [String], _ message: String) {
        #expect(throws: SluiceError.usage(message, stage: "t")) { _ = try parse(words) }
    }

    @Test func suggestionDistance() {
        #expect(Suggestion.distance("lnes", "lines") == 1)
        #expect(Suggestion.distance("gzpi", "gzip") == 1)
        #expect(Suggestion.closest(to: "hed", in: ["head", "tail"]) == "head")
        #expect(Suggestion.closest(to: "zzzz", in: ["head", "tail"]) == nil)
    }
}

@Suite struct CommandParserTests {
    func run(_ words: [String]) throws(SluiceError) -> (GlobalOptions, [StageInvocation]) {
        guard case .run(let g, let s) = try CommandParser.parse(words) else {
            throw .usage("not a run")
        }
        return (g, s)
    }

    @Test func noStageIsPassThrough() throws {
        let (g, stages) = try run([])
        #expect(stages.isEmpty)
        #expect(g.inputBuffer.highWaterMark == BufferSettings.defaultHighWaterMark)
        #expect(g.chunkBytes == GlobalOptions.defaultChunkBytes)
    }

    @Test func globalsThenStages() throws {
        let (g, stages) = try run(["--hwm", "4M", "--chunk=64K", "--stats=json", "cat", "+", "head", "-n", "3"])
        #expect(g.inputBuffer.highWaterMark == 4 << 20)
        #expect(g.chunkBytes == 64 << 10)
        #expect(g.stats == .json)
        #expect(stages.map { $0.descriptor.name } == ["cat", "head"])
        #expect(stages[1].options.last("lines")?.value == "3")
    }

    @Test func helpAndVersion() throws {
        guard case .help = try CommandParser.parse(["-h"]) else { Issue.record("no help"); return }
        // As `git help log`: a stage after --help asks for that stage's help.
        guard case .stageHelp(let grep) = try CommandParser.parse(["--help", "grep"]) else {
            Issue.record("no stage help"); return
        }
        #expect(grep.name == "grep")
        #expect(throws: SluiceError.usage("unknown stage 'grpe' (did you mean 'grep'?)")) {
            _ = try CommandParser.parse(["--help", "grpe"])
        }
        guard case .version = try CommandParser.parse(["-V"]) else { Issue.record("no version"); return }
        guard case .stageHelp(let d) = try CommandParser.parse(["cat", "+", "head", "--help"]) else {
            Issue.record("no stage help"); return
        }
        #expect(d.name == "head")
    }

    @Test func statsDefaultsToTable() throws {
        #expect(try run(["--stats"]).0.stats == .table)
    }

    /// The forms the man page promises: a digit option inside a cluster, and -P's value
    /// attached as getopt attaches an optional argument.
    @Test func clusteredDigitsAndAttachedOptionalValues() throws {
        let (_, stages) = try run(["gzip", "-9p2"])
        #expect(stages[0].options.last("level")?.value == "9")
        #expect(stages[0].options.last("threads")?.value == "2")
        let (_, heads) = try run(["head", "-5"])
        #expect(heads[0].options.last("lines")?.value == "5")
        for words in [["-Pforce"], ["-P=force"], ["--progress=force"]] {
            #expect(try run(words).0.progress == .force, "\(words)")
        }
        for words in [["-P"], ["-Pauto"], ["--progress=auto"]] {
            #expect(try run(words).0.progress == .auto, "\(words)")
        }
    }

    @Test(arguments: [
        (["hed"], "unknown stage 'hed' (did you mean 'head'?)"),
        (["--hwn", "1M"], "unknown option '--hwn' (did you mean '--hwm'?)"),
        (["--hwm", "12X"], "--hwm: invalid size '12X' (bytes, or with K, M, G, T: 64K, 1.5M, 1G)"),
        (["--hwm", "0"], "--hwm: size must be at least 1 B: '0'"),
        (["--hwm", "99999999999T"], "--hwm: size is too large: '99999999999T'"),
        (["--hwm"], "option '--hwm' needs a value"),
        (["--chunk", "1G"], "--chunk: size must be at most 256 MiB: '1G'"),
        (["--hwm", "1M", "--lwm", "1M"], "low-water mark 1 MiB must be below the high-water mark 1 MiB"),
        (["--stats=xml"], "--stats: unknown format 'xml' (use table, json or hadoop)"),
        (["+", "cat"], "missing stage before '+'"),
        (["cat", "+"], "missing stage after '+'"),
        (["cat", "+", "+", "cat"], "missing stage between '+' and '+'"),
        (["head", "--lnes", "3"], "head: unknown option '--lnes' (did you mean '--lines'?)"),
        (["cat", "+", "head", "-n"], "head: option '-n' needs a value"),
    ])
    func usageErrors(_ words: [String], _ message: String) {
        // A stage's error names the stage, whose synopsis follows the message.
        let stage = ["head", "cat"].first { message.hasPrefix("\($0):") }
        #expect(throws: SluiceError.usage(message, stage: stage)) { _ = try CommandParser.parse(words) }
    }

    @Test(arguments: [
        (["head", "-n", "x"], "head: -n: invalid number 'x'"),
        (["head", "extra"], "head: unexpected argument 'extra' (sluice reads standard input: sluice head < extra)"),
        (["cat", "--hwm", "1K", "--lwm", "2K"], "cat: low-water mark 2 KiB must be below the high-water mark 1 KiB"),
        (["cat", "--hwm", "0"], "cat: --hwm: size must be at least 1 B: '0'"),
    ])
    func stageBuildErrors(_ words: [String], _ message: String) throws {
        let (g, stages) = try run(words)
        let context = StageContext(chunkBytes: g.chunkBytes, maxLineBytes: g.maxLineBytes, diagnostics: Diagnostics())
        #expect(throws: SluiceError.usage(message, stage: words[0])) {
            _ = try StageRegistry.plans(for: stages, globals: g, context: context)
        }
    }

    @Test func waterMarksPerStage() throws {
        let (g, stages) = try run(["--hwm", "2M", "cat", "+", "cat", "--hwm", "64K", "+", "cat", "--lwm", "100K"])
        let context = StageContext(chunkBytes: g.chunkBytes, maxLineBytes: g.maxLineBytes, diagnostics: Diagnostics())
        let plans = try StageRegistry.plans(for: stages, globals: g, context: context)
        #expect(plans.map { $0.buffer.highWaterMark } == [2 << 20, 64 << 10, 2 << 20])
        #expect(plans.map { $0.buffer.lowWaterMark } == [1 << 20, 32 << 10, 100 << 10])
    }
}
