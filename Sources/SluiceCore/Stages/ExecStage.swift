/// `exec COMMAND [ARG]...`: an external filter as a stage. The stage's thread writes its
/// input to the command's stdin; a reader thread reads the command's stdout into chunks
/// and sends them on, so the command sits inside sluice's buffers, stats and bottleneck
/// naming. No shell is involved (`exec sh -c '...'` if one is wanted); the command's
/// stderr is sluice's.
///
/// A command that stops reading early (`exec head -1`) ends the input like a `head`
/// stage; a command that exits non-zero, or dies by a signal, is an error naming it.
/// The command is a `PipedCommand` (Exec/): started, reaped, and on an early end
/// terminated (SIGTERM, SIGKILL after the grace) as every `exec` command is.
public struct ExecStage: Stage {
    /// The command, its name for messages, and `--pipe-size` (the pipes to and from the
    /// command are enlarged like stdin and stdout).
    private let command: ExecCommand
    private var child: PipedCommand?

    public init(arguments: [[UInt8]], pipeBytes: Int = 0) {
        command = ExecCommand(arguments: arguments, pipeBytes: pipeBytes)
    }

    private var name: String { command.name }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        child = try PipedCommand(command, output: out.channel, pool: out.pool, stats: out.stats)
        return .more
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        guard let child else { return .stop }
        do throws(Errno) {
            try child.input.writeAll(input.bytes)
        } catch {
            // The command closed its input: it wants no more, like head.
            if error == .brokenPipe { return .stop }
            throw .failed("\(name): \(error)")
        }
        return .more
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        guard let child else { return }
        self.child = nil
        try child.finish(name: name)
    }

    public mutating func close() {
        // Ending early (an error elsewhere, the consumer gone): stop the command.
        child?.terminate()
        child = nil
    }

    public static let descriptor = StageDescriptor(
        name: "exec", synopsis: "exec [-j N [--block SIZE] [--flush-idle DURATION] [--unordered]] COMMAND [ARG]...",
        summary: "run COMMAND as a stage: its stdin from the stage before, its stdout to the next; "
            + "with -j, N copies side by side on blocks of lines, the output in input order",
        options: [
            OptionSpec("j", "jobs", .required("N"),
                       help: "run N copies at once, one per block of whole lines, each block's output in input order"),
            OptionSpec(nil, "block", .required("SIZE"),
                       help: "only with -j: the most bytes of whole lines a block holds (4M; a file on stdin: cut evenly, up to 8M)"),
            OptionSpec(nil, "flush-idle", .required("DURATION"),
                       help: "only with -j: when a stream is quiet this long, its whole lines go out as a block (200ms; 0: never)"),
            OptionSpec(nil, "unordered",
                       help: "only with -j: N long-lived copies, fed block by block; output lines whole, in any order"),
        ],
        stopsAtFirstOperand: true,
        operands: 1...Int.max
    ) { args, context throws(SluiceError) in
        let arguments = args.operands.map(\.rawBytes)
        guard args.last("jobs")?.value != nil else {
            for key in ["block", "unordered", "flush-idle"] {
                if let option = args.last(key) { throw args.fail("\(option.spelling) applies only with -j N") }
            }
            var plan = StagePlan(ExecStage(arguments: arguments, pipeBytes: context.pipeBytes))
            plan.output = .other
            return plan
        }
        let jobs = try args.threadCount("jobs", default: 1, noun: "copies")
        let isOrdered = !args.has("unordered")
        let blockBytes = isOrdered
            ? ParallelExecStage.defaultBlockBytes(jobs: jobs, inputBytes: context.inputBytes)
            : ParallelExecStage.defaultBlockBytes
        var settings = ParallelExecStage.Settings(
            jobs: jobs, blockBytes: try args.size("block", default: blockBytes, min: 1, max: 1 << 30),
            isOrdered: isOrdered, maxLineBytes: context.maxLineBytes, pipeBytes: context.pipeBytes)
        // A file on stdin never pauses: its blocks are cut by size alone, whatever the load.
        settings.flushIdleNanos = try args.flushIdleNanos(
            default: context.inputBytes == nil ? StageContext.defaultFlushIdleNanos : nil)
        var plan = StagePlan(ParallelExecStage(arguments: arguments, settings: settings),
                             heldBytes: ParallelExecStage.heldBytes(settings, chunkBytes: context.chunkBytes))
        plan.output = .other
        return plan
    }
}
