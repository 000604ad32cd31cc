/// What the whole command line asks for.
public enum Command {
    case help
    case stageHelp(StageDescriptor)
    case version
    case completion(CompletionShell)
    case run(GlobalOptions, [StageInvocation])
}

/// How `--stats` reports.
public enum StatsFormat: Sendable, Equatable {
    case table
    case json
}

/// How `--progress` draws.
public enum ProgressMode: Sendable, Equatable {
    /// Only when stderr is a terminal.
    case auto
    /// Always, even to a file or pipe.
    case force
}

/// The options before the first stage.
public struct GlobalOptions: Sendable {
    /// 128 KiB: GNU cat's read size, and where read throughput stops improving here.
    public static let defaultChunkBytes = 128 << 10
    /// 1 MiB: /proc/sys/fs/pipe-max-size by default, and measured to double pipe
    /// throughput over the 64 KiB default.
    public static let defaultPipeBytes = 1 << 20
    /// 16 MiB: longer than any sane text line, small enough to fail fast on binary junk.
    public static let defaultMaxLineBytes = 16 << 20

    /// `--hwm`, `--lwm`, `--when-full`, `--spill`, `--spill-max` as given: the defaults
    /// of every stage's buffer (`StageRegistry.plans`).
    var buffers = BufferOptions()
    /// stdin's own output buffer, before the first stage, from `buffers`.
    public var inputBuffer = BufferSettings()
    public var chunkBytes = defaultChunkBytes
    public var pipeBytes = defaultPipeBytes
    public var maxLineBytes = defaultMaxLineBytes
    /// True when `--hwm`, `--lwm` or `--chunk` was given: the user asked for a buffer,
    /// so a stage-less run keeps the chunk path instead of splicing.
    public var isBufferTuned = false
    public var stats: StatsFormat?
    /// `--stats=hadoop`: Hadoop Streaming counters on stderr while running and at exit.
    public var emitsHadoopCounters = false
    /// `--drain`: after a stage stops early, read stdin to its end and discard it.
    public var drainsInput = false
    public var progress: ProgressMode?
    /// Seconds without any byte moving before the watchdog ends the run; nil: never.
    public var stallTimeoutSeconds: Double?
    /// `--size`: the input's expected size, for progress percent and ETA on a pipe.
    public var expectedInputBytes: Int?
    /// `--trace FILE`: samples of the run as JSON lines, or a picture if FILE ends in .svg.
    public var tracePath: String?
    /// `--trace-interval`: time between samples (100 ms).
    public var traceIntervalNanos: UInt64 = 100_000_000

    public init() {}
}

/// A stage as named on the command line, with its options parsed.
public struct StageInvocation {
    public let descriptor: StageDescriptor
    public let options: ParsedOptions
    /// The whole command line, and where this stage's words (its name first) are in it:
    /// a message may repeat the command with a word moved.
    public var commandLine: [String] = []
    public var words: Range<Int> = 0..<0
}

public enum CommandParser {
    public static let globalOptions: [OptionSpec] = [
        OptionSpec("h", "help", help: "show this help and exit; followed by a stage, that stage's help"),
        OptionSpec("V", "version", help: "show the version and exit"),
        OptionSpec(nil, "hwm", .required("SIZE"),
                   help: "high-water mark of every stage's output buffer (default 1M)"),
        OptionSpec(nil, "lwm", .required("SIZE"),
                   help: "low-water mark: a blocked stage resumes at this fill (default hwm/2)"),
        OptionSpec(nil, "when-full", .required("POLICY"),
                   help: "every buffer at its hwm: block (default), drop-newest or drop-oldest whole lines, counted"),
        OptionSpec(nil, "spill", .required("DIR"),
                   help: "past its hwm, every buffer overflows to an unnamed file in DIR, read back in order"),
        OptionSpec(nil, "spill-max", .required("SIZE"), help: "the most each buffer holds on disk before blocking (1G)"),
        OptionSpec(nil, "chunk", .required("SIZE"), help: "read size and chunk size (default 128K)"),
        OptionSpec(nil, "pipe-size", .required("SIZE"),
                   help: "enlarge stdin/stdout and exec pipes to SIZE; 0 leaves them (default 1M)"),
        OptionSpec(nil, "max-line", .required("SIZE"),
                   help: "longest line a line stage holds (default 16M)"),
        OptionSpec(nil, "stats", .optional("FORMAT"),
                   help: "print a table (or json) of what each stage did to stderr at exit; "
                       + "hadoop: Hadoop Streaming counters, also while running (hadoop,json: both)"),
        OptionSpec("P", "progress", .optional("WHEN"),
                   help: "live progress per stage on stderr; WHEN: auto (a terminal) or force "
                       + "(else a line a second)"),
        OptionSpec(nil, "stall-timeout", .required("DURATION"),
                   help: "end with an error naming the stuck stage when no byte moves for DURATION"),
        OptionSpec("s", "size", .required("SIZE"),
                   help: "expected input size, for -P's percent and ETA on a pipe"),
        OptionSpec(nil, "trace", .required("FILE"),
                   help: "record the run over time: JSON lines, or a picture if FILE ends in .svg"),
        OptionSpec(nil, "trace-interval", .required("DURATION"), help: "time between trace samples (100ms)"),
        OptionSpec(nil, "drain", help: "when a stage stops early (head), still read stdin to its end, for hosts that need it"),
        OptionSpec(nil, "completion", .required("SHELL"), help: "print a completion script for bash, zsh or fish and exit"),
    ]

    /// Parses `arguments` (without the program name).
    public static func parse(_ arguments: [String]) throws(SluiceError) -> Command {
        var cursor = ArgumentCursor(arguments)
        let parser = OptionParser(options: globalOptions, stopsAtFirstOperand: true, owner: nil)
        let parsed = try parser.parse(&cursor, leaveOperand: true)
        if parsed.has("help") {
            // `sluice --help grep`, as `git help X`: that stage's help.
            guard let name = cursor.peek, name != "+" else { return .help }
            return .stageHelp(try StageRegistry.find(name))
        }
        if parsed.has("version") { return .version }
        if let shell = parsed.last("completion"), let name = shell.value {
            guard let known = CompletionShell(rawValue: name) else {
                throw .usage("--completion: unknown shell '\(name)' (use bash, zsh or fish)")
            }
            return .completion(known)
        }
        let globals = try globalOptions(from: parsed)
        var stages: [StageInvocation] = []
        if cursor.peek == "+" { throw .usage("missing stage before '+'") }
        while let name = cursor.next() {
            let first = cursor.index - 1
            if name.hasPrefix("-") {
                let known = globalOptions.compactMap { $0.long.map { "--\($0)" } }
                throw .usage("unknown option '\(name)'" + Suggestion.hint(for: name, among: known))
            }
            let descriptor = try StageRegistry.find(name)
            let stageParser = OptionParser(options: descriptor.allOptions, digitsKey: descriptor.digitsKey,
                                           stopsAtFirstOperand: descriptor.stopsAtFirstOperand,
                                           owner: descriptor.name)
            let options = try stageParser.parse(&cursor)
            if options.has("help") { return .stageHelp(descriptor) }
            stages.append(StageInvocation(descriptor: descriptor, options: options, commandLine: arguments,
                                          words: first..<cursor.index))
            if cursor.next() == "+" {
                guard let following = cursor.peek else { throw .usage("missing stage after '+'") }
                if following == "+" { throw .usage("missing stage between '+' and '+'") }
            }
        }
        return .run(globals, stages)
    }

    private static func globalOptions(from parsed: ParsedOptions) throws(SluiceError) -> GlobalOptions {
        var g = GlobalOptions()
        let args = OptionReader(parsed, owner: nil)
        g.buffers = try BufferOptions(args)
        g.inputBuffer = try g.buffers.settings(BufferSettings(), args: args)
        // 256 MiB: far past any measured benefit; a chunk is allocated whole.
        g.chunkBytes = try args.size("chunk", default: g.chunkBytes, min: 1, max: 256 << 20)
        g.pipeBytes = try args.size("pipe-size", default: g.pipeBytes, min: 0, max: Int(Int32.max))
        g.isBufferTuned = g.buffers.isGiven || args.has("chunk")
        // 1 GiB: GNU regex offsets are 32-bit, so no longer line can be searched.
        g.maxLineBytes = try args.size("max-line", default: g.maxLineBytes, min: 1, max: 1 << 30)
        g.expectedInputBytes = try args.optionalSize("size", min: 1)
        if let progress = args.last("progress") {
            switch progress.value {
            case nil, "auto": g.progress = .auto
            case "force": g.progress = .force
            case let other?: throw .usage("--progress: unknown mode '\(other)' (use auto or force)")
            }
        }
        g.tracePath = args.last("trace")?.value
        // 10 ms: finer samples cost more than they show.
        if let nanos = try args.optionalDuration("trace-interval", min: 10_000_000, shown: "10ms") {
            g.traceIntervalNanos = nanos
        }
        if let nanos = try args.optionalDuration("stall-timeout", min: 1_000_000, shown: "1ms") {
            g.stallTimeoutSeconds = Double(nanos) / 1e9
        }
        if let stats = args.last("stats") {
            for format in (stats.value ?? "table").split(separator: ",", omittingEmptySubsequences: false) {
                switch format {
                case "table" where g.stats == nil: g.stats = .table
                case "json" where g.stats == nil: g.stats = .json
                case "table", "json": throw .usage("--stats: one of table and json, not both")
                case "hadoop": g.emitsHadoopCounters = true
                default: throw .usage("--stats: unknown format '\(format)' (use table, json or hadoop)")
                }
            }
        }
        g.drainsInput = args.has("drain")
        return g
    }
}
