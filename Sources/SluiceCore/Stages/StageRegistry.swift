/// What a stage's factory needs from the global options.
public struct StageContext: Sendable {
    /// Capacity of every chunk.
    public let chunkBytes: Int
    /// `--max-line`: the longest line a line stage may hold.
    public let maxLineBytes: Int
    /// Where warnings go.
    public let diagnostics: Diagnostics
    /// `--pipe-size`: what a stage that makes pipes (exec) enlarges them to; 0 leaves them.
    public let pipeBytes: Int
    /// How many bytes the stage will read, when known before the run: for the first
    /// stage, what is left of a regular file on stdin (`exec -j` sizes its blocks by it);
    /// nil otherwise.
    public var inputBytes: Int?

    /// `--flush-idle`'s default, for gzip and `exec -j`. 200 ms: a live stream
    /// (`tail -F | sluice gzip`) is decodable downstream within a fraction of a second of
    /// each line, while a sync flush (5 bytes, and a fresh block) or a block of its own
    /// costs at most 5 times a second on a trickle; a file input never waits that long.
    public static let defaultFlushIdleNanos: UInt64 = 200_000_000

    public init(chunkBytes: Int, maxLineBytes: Int, diagnostics: Diagnostics, pipeBytes: Int = 0,
                inputBytes: Int? = nil) {
        self.chunkBytes = chunkBytes
        self.maxLineBytes = maxLineBytes
        self.diagnostics = diagnostics
        self.pipeBytes = pipeBytes
        self.inputBytes = inputBytes
    }
}

/// A stage as the command line and the help know it.
public struct StageDescriptor: Sendable {
    public let name: String
    public let aliases: [String]
    /// `head [-n N | -c N]`.
    public let synopsis: String
    /// One line for `--help`.
    public let summary: String
    /// The stage's own options; `--hwm`, `--lwm` and `--help` are added to every stage.
    public let options: [OptionSpec]
    /// Key for all-digit options such as `gzip -6`, if the stage takes them.
    public let digitsKey: String?
    /// Options end at the first operand (`exec CMD -x`: `-x` is the command's).
    public let stopsAtFirstOperand: Bool
    /// How many operands the stage takes.
    public let operands: ClosedRange<Int>
    /// The most operands these options leave room for, when fewer than `operands` allows
    /// (grep takes no pattern operand after `-e` or `-f`).
    public let operandLimit: (@Sendable (ParsedOptions) -> Int)?
    public let make: @Sendable (OptionReader, StageContext) throws(SluiceError) -> StagePlan

    public init(name: String, aliases: [String] = [], synopsis: String, summary: String,
                options: [OptionSpec] = [], digitsKey: String? = nil, stopsAtFirstOperand: Bool = false,
                operands: ClosedRange<Int> = 0...0, operandLimit: (@Sendable (ParsedOptions) -> Int)? = nil,
                make: @escaping @Sendable (OptionReader, StageContext) throws(SluiceError) -> StagePlan) {
        self.name = name
        self.aliases = aliases
        self.synopsis = synopsis
        self.summary = summary
        self.options = options
        self.digitsKey = digitsKey
        self.stopsAtFirstOperand = stopsAtFirstOperand
        self.operands = operands
        self.operandLimit = operandLimit
        self.make = make
    }

    public static let commonOptions: [OptionSpec] = [
        OptionSpec(nil, "hwm", .required("SIZE"), help: "high-water mark of this stage's output buffer"),
        OptionSpec(nil, "lwm", .required("SIZE"), help: "resume threshold of that buffer (default hwm/2)"),
        OptionSpec(nil, "when-full", .required("POLICY"),
                   help: "that buffer at its hwm: block (default), drop-newest or drop-oldest lines"),
        OptionSpec(nil, "spill", .required("DIR"), help: "past its hwm, that buffer overflows to a file in DIR"),
        OptionSpec(nil, "spill-max", .required("SIZE"), help: "the most it holds on disk before blocking (1G)"),
        OptionSpec(nil, "help", help: "show this stage's help and exit"),
    ]

    public var allOptions: [OptionSpec] { options + StageDescriptor.commonOptions }
}

/// Every stage sluice knows: adding a stage is one file in Stages/ and one line here.
public enum StageRegistry {
    public static let all: [StageDescriptor] = [
        CatStage.descriptor,
        HeadStage.descriptor,
        GzipStage.descriptor,
        GunzipStage.descriptor,
        ZstdStage.descriptor,
        UnzstdStage.descriptor,
        GrepStage.descriptor,
        TailStage.descriptor,
        ThrottleStage.descriptor,
        BufferStage.descriptor,
        ExecStage.descriptor,
        TeeStage.descriptor,
    ]

    /// The stage called `name` (or one of its aliases), or a usage error with a suggestion.
    public static func find(_ name: String) throws(SluiceError) -> StageDescriptor {
        if let d = all.first(where: { $0.name == name || $0.aliases.contains(name) }) { return d }
        let names = all.flatMap { [$0.name] + $0.aliases }
        throw .usage("unknown stage '\(name)'" + Suggestion.hint(for: name, among: names))
    }

    /// Builds the plans for a run: each stage made from its options, with its water marks.
    public static func plans(for invocations: [StageInvocation], globals: GlobalOptions,
                             context: StageContext) throws(SluiceError) -> [StagePlan] {
        var plans: [StagePlan] = []
        for (i, invocation) in invocations.enumerated() {
            let d = invocation.descriptor
            let reader = OptionReader(invocation.options, owner: d.name)
            let operands = reader.operands
            let limit = min(d.operands.upperBound, d.operandLimit?(invocation.options) ?? .max)
            if operands.count > limit {
                let extra = operands[limit]
                throw reader.fail("unexpected argument '\(extra)' (sluice reads standard input: "
                    + "\(invocation.readingStandardInput(from: limit, isFirst: i == 0)))")
            }
            if operands.count < d.operands.lowerBound {
                throw reader.fail("missing operand (usage: \(d.synopsis))")
            }
            var stageContext = context
            if i > 0 { stageContext.inputBytes = nil }
            var plan = try d.make(reader, stageContext)
            plan.name = d.name
            plan.buffer = try BufferOptions(reader).settings(plan.buffer, over: globals.buffers,
                                                             carriesLines: plan.carriesLines, args: reader)
            plans.append(plan)
        }
        let labels = StageLabels.make(names: plans.map(\.name), commands: invocations.map {
            $0.descriptor.name == ExecStage.descriptor.name ? $0.options.operands.first : nil
        })
        for i in plans.indices { plans[i].label = labels[i] }
        return plans
    }
}

extension StageInvocation {
    /// The command that reads the operand at `extra` (and drops those after it) from
    /// standard input instead, every other word kept, quoted for the shell: the whole
    /// command line for the first stage (`sluice --stats head -n 3 < app.log`), this
    /// stage alone for a later one. Without the command line, the stage's name and the
    /// operands before `extra`.
    func readingStandardInput(from extra: Int, isFirst: Bool) -> String {
        let file = options.operands[extra]
        guard !commandLine.isEmpty else {
            let kept = options.operands.prefix(extra).map { " " + $0.shellQuoted }.joined()
            return "sluice \(descriptor.name)\(kept) < \(file.shellQuoted)"
        }
        let dropped = Set(options.operandPositions[extra...])
        let shown = isFirst ? commandLine.indices : words
        let kept = shown.filter { !dropped.contains($0) }.map { commandLine[$0].shellQuoted }
        return "sluice \(kept.joined(separator: " ")) < \(file.shellQuoted)"
    }
}
