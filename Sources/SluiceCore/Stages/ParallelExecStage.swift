/// `exec -j N COMMAND [ARG]...`: N copies of the command side by side, each run on a
/// block of whole lines (`--block`), the outputs in input order (`ParallelExec`); with
/// `--unordered`, N long-lived copies whose output lines go out as they come
/// (`UnorderedExec`). Made by `exec`'s descriptor when `-j` is given.
public struct ParallelExecStage: Stage {
    public struct Settings: Sendable {
        public var jobs: Int
        public var blockBytes: Int
        public var isOrdered = true
        public var maxLineBytes: Int
        public var pipeBytes: Int
        /// `--flush-idle`: how long input may stay quiet before the whole lines held go
        /// out as a block of their own; nil: never (blocks only when full, as parallel).
        public var flushIdleNanos: UInt64? = nil
    }

    /// 4 MiB, measured: `jq` starts in about 17 ms, so smaller blocks spend a fifth and
    /// more of the CPU starting copies (bench/exec.sh); larger ones leave a core idle at
    /// the end of shorter inputs.
    public static let defaultBlockBytes = 4 << 20
    /// The most a block sized from a known input length (`defaultBlockBytes(jobs:inputBytes:)`) holds.
    public static let maxEvenBlockBytes = 8 << 20

    /// The default `--block` of the ordered mode. For a stream of unknown length,
    /// `defaultBlockBytes`. For a known length (a regular file on stdin, `exec -j` the
    /// first stage), the input cut evenly into the fewest blocks, a multiple of `jobs`,
    /// of at most `maxEvenBlockBytes`, as GNU parallel's `--pipepart --block -1` does: every
    /// round of blocks keeps all the copies busy and they end together, where a fixed
    /// size leaves a last short block — and a core idle while one copy starts on it
    /// (bench/exec.sh: 41,943,122 bytes at 4M make 10 blocks and one of 82 bytes, 0.57 s;
    /// cut evenly, 6 blocks, 0.54 s). A 64th is added to each block, because a block ends
    /// at the line end before its size: so the lines fit in the planned count (with
    /// lines up to a 64th of a block), without a short block at the end. At least 64 KiB:
    /// a small input is not worth a command per job.
    public static func defaultBlockBytes(jobs: Int, inputBytes: Int?) -> Int {
        guard let bytes = inputBytes, bytes > 0 else { return defaultBlockBytes }
        let perRound = Saturating.product(jobs, maxEvenBlockBytes)
        let blocks = jobs * ((bytes + perRound - 1) / perRound)
        let even = (bytes + blocks - 1) / blocks
        return min(max(even + even / 64, 64 << 10), maxEvenBlockBytes + maxEvenBlockBytes / 64)
    }

    private let command: ExecCommand
    private let settings: Settings
    private var cutter: BlockCutter?
    private var engine: (any ExecEngine)?

    init(arguments: [[UInt8]], settings: Settings) {
        command = ExecCommand(arguments: arguments, pipeBytes: settings.pipeBytes)
        self.settings = settings
    }

    /// What the stage holds beyond its output channel, for the memory bound.
    static func heldBytes(_ settings: Settings, chunkBytes: Int) -> Int {
        settings.isOrdered
            ? ParallelExec.heldBytes(jobs: settings.jobs, blockBytes: settings.blockBytes,
                                     maxLineBytes: settings.maxLineBytes, chunkBytes: chunkBytes)
            : UnorderedExec.heldBytes(jobs: settings.jobs, blockBytes: settings.blockBytes,
                                      maxLineBytes: settings.maxLineBytes, chunkBytes: chunkBytes)
    }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        out.stats?.counters.set(settings.jobs, for: "jobs")
        cutter = BlockCutter(blockBytes: settings.blockBytes, maxLineBytes: settings.maxLineBytes, pool: out.pool)
        if settings.isOrdered {
            engine = try ParallelExec(command, jobs: settings.jobs, blockBytes: settings.blockBytes,
                                      output: out.channel, pool: out.pool, stats: out.stats)
        } else {
            engine = UnorderedExec(command, jobs: settings.jobs, maxLineBytes: settings.maxLineBytes,
                                   output: out.channel, pool: out.pool, stats: out.stats)
        }
        return .more
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        cutter!.add(input.take())
        while let block = try cutter!.nextBlock() {
            if try !engine!.submit(block) { return .stop }
        }
        return .more
    }

    public var idleNanos: UInt64? { settings.flushIdleNanos }

    /// Input went quiet (a live log between bursts): the whole lines held go out now as a
    /// block, rather than waiting for a full one. A partial last line stays for the next.
    public mutating func idle(into out: inout Emitter) throws(StageError) {
        if let block = cutter!.cutWholeLines() { _ = try engine!.submit(block) }
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        if let block = cutter!.finish() { _ = try engine!.submit(block) }
        try engine!.finish()
    }

    public mutating func close() {
        cutter?.discard()
        cutter = nil
        engine?.stop()
        engine = nil
    }
}
