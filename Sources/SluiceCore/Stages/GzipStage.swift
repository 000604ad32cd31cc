import CZlib
import Glibc

/// `gzip`: compresses the stream into one RFC 1952 gzip member with zlib's deflate; with
/// more than one thread (the default: one per online core), as pigz does, in blocks
/// compressed in parallel (`ParallelDeflater`). `--threads 1` is zlib's own gzip stream.
/// `--bgzf` writes BGZF instead: a member per 65280 bytes of input, each with its size,
/// compressed on the same threads.
public struct GzipStage: Stage {
    public struct Settings: Sendable, Equatable {
        public var level = 6
        public var threads = 1
        /// Block size of the parallel path (pigz's default: 128 KiB).
        public var blockBytes = 128 << 10
        /// No dictionary priming: each block decodes on its own (pigz -i).
        public var isIndependent = false
        /// `--adapt[=MIN:MAX]`: the levels the stage may move between; nil: fixed.
        public var adaptRange: ClosedRange<Int>?
        /// BGZF members instead of one member (always through `ParallelDeflater`).
        public var isBGZF = false
        /// How long the input may stay quiet before what was compressed so far is flushed
        /// (`--flush-idle`); nil: never.
        public var flushIdleNanos: UInt64? = StageContext.defaultFlushIdleNanos

        public init(level: Int = 6, threads: Int = 1, blockBytes: Int = 128 << 10, isIndependent: Bool = false) {
            self.level = level
            self.threads = threads
            self.blockBytes = blockBytes
            self.isIndependent = isIndependent
        }
    }

    private let settings: Settings
    private var single: Deflater?
    private var parallel: ParallelDeflater?
    /// Input taken since the last flush (single-stream mode).
    private var hasUnflushedInput = false
    /// Moves the level with the pressure (`--adapt`); nil: a fixed level.
    private var adapter: LevelAdapter?

    public init(_ settings: Settings) throws(StageError) {
        self.settings = settings
        if let range = settings.adaptRange { adapter = LevelAdapter(range: range, start: settings.level) }
        if settings.threads <= 1 && !settings.isIndependent && !settings.isBGZF {
            single = try Deflater(level: settings.level)
        }
    }

    public init(level: Int) throws(StageError) {
        try self.init(Settings(level: level))
    }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        if let adapter { out.stats?.counters.set(adapter.level, for: "level") }
        if single == nil {
            let engine = ParallelDeflater(level: settings.level, threads: max(1, settings.threads),
                                          blockBytes: settings.blockBytes, isIndependent: settings.isIndependent,
                                          isBGZF: settings.isBGZF)
            let counters = out.stats?.counters
            engine.onSubmit = { level, bytes in counters?.add(bytes, to: "level_bytes.\(level)") }
            parallel = engine
        }
        return .more
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        try adapt(into: &out)
        if single != nil { out.stats?.counters.add(input.count, to: "level_bytes.\(currentLevel)") }
        if let single {
            try single.compress(input.bytes, flush: Z_NO_FLUSH, into: &out)
            hasUnflushedInput = true
        } else {
            try parallel!.compress(input.bytes, into: &out)
        }
        return .more
    }

    public var idleNanos: UInt64? { settings.flushIdleNanos }

    private var currentLevel: Int { adapter?.level ?? settings.level }

    /// `--adapt`: a new level when the last window calls for one, before the next input.
    private mutating func adapt(into out: inout Emitter) throws(StageError) {
        guard adapter != nil, let stats = out.stats else { return }
        let now = monotonicNanos()
        guard let level = adapter!.observe(stats.snapshot(at: now), at: now) else { return }
        if let single { try single.setLevel(level, into: &out) } else { parallel?.level = level }
        stats.counters.set(level, for: "level")
    }

    /// The input went quiet: end the deflate block so everything so far decodes
    /// downstream; the stream stays one gzip member.
    public mutating func idle(into out: inout Emitter) throws(StageError) {
        if let single {
            guard hasUnflushedInput else { return }
            try single.compress(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_SYNC_FLUSH, into: &out)
            hasUnflushedInput = false
        } else {
            try parallel!.flushPartialBlock(into: &out)
        }
    }

    public mutating func willWait(into out: inout Emitter) throws(StageError) {
        try parallel?.writeFinished(waiting: false, into: &out)
        try out.flush()
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        if let single {
            try single.compress(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH, into: &out)
        } else {
            try parallel!.finish(into: &out)
        }
    }

    public mutating func close() {
        single?.end()
        parallel?.stop()
        parallel = nil
    }

    /// gzip's `-c` and `-k`, typed out of habit, accepted by gzip and gunzip and doing
    /// nothing: output is always standard output and no file is touched.
    static let gzipHabits: [OptionSpec] = [
        OptionSpec("c", "stdout", help: "accepted, as gzip's: output is always standard output"),
        OptionSpec("k", "keep", help: "accepted, as gzip's: no file is read or removed"),
    ]

    /// The number of online cores, the default thread count, as pigz.
    static var onlineCores: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    public static let descriptor = StageDescriptor(
        name: "gzip",
        synopsis: "gzip [-1..-9] [-p N] [--block SIZE | --bgzf] [-i] [-f] [--adapt[=MIN:MAX]] [--flush-idle DURATION] [-ck]",
        summary: "compress into one gzip member with zlib (level 6), in parallel blocks as pigz, or into BGZF",
        options: [
            OptionSpec(nil, "level", .required("N"), help: "compression level, 1 (fast) to 9 (small); -1 ... -9 too"),
            OptionSpec(nil, "fast", key: "fast", help: "level 1"),
            OptionSpec(nil, "best", key: "best", help: "level 9"),
            OptionSpec("p", "threads", .required("N"), help: "compress on N threads (default: one per online core)"),
            OptionSpec(nil, "block", .required("SIZE"), help: "block size for parallel compression (default 128K)"),
            OptionSpec("i", "independent", help: "compress blocks independently, decodable from any block"),
            OptionSpec(nil, "bgzf", help: "write BGZF (bgzip's blocked gzip: 64 KiB members with their sizes)"),
            OptionSpec("f", "force", help: "write compressed data even to a terminal"),
            OptionSpec(nil, "adapt", .optional("MIN:MAX"),
                       help: "move the level with the pressure: up when output waits, down when gzip is the limit (1:9); min=MIN,max=MAX too"),
            OptionSpec(nil, "flush-idle", .required("DURATION"),
                       help: "flush what is compressed when input is quiet this long (200ms; 0: never)"),
            OptionSpec("d", "decompress", help: "refused, naming the stage that decompresses: gunzip"),
        ] + gzipHabits,
        digitsKey: "level"
    ) { args, context throws(SluiceError) in
        if let given = args.last("decompress") {
            throw args.fail("\(given.spelling): to decompress, use the gunzip stage")
        }
        var settings = Settings(level: try GzipStage.level(from: args),
                                threads: try args.threadCount("threads", default: onlineCores))
        // 32 KiB: a block must hold a whole dictionary for the next one.
        settings.blockBytes = try args.size("block", default: settings.blockBytes, min: 32 << 10, max: 64 << 20)
        settings.isIndependent = args.has("independent")
        if let given = args.last("adapt") {
            settings.adaptRange = try LevelAdapter.range(given, args, levels: 1...9, defaultRange: 1...9)
        }
        settings.isBGZF = args.has("bgzf")
        if settings.isBGZF, let given = args.last("block") {
            throw args.fail("\(given.spelling): BGZF blocks are 65280 bytes of input; --block does not apply with --bgzf")
        }
        settings.flushIdleNanos = try args.flushIdleNanos(default: settings.flushIdleNanos)
        let held = settings.threads <= 1 && !settings.isIndependent && !settings.isBGZF
            ? Deflater.heldBytes
            : ParallelDeflater.heldBytes(threads: settings.threads,
                                         blockBytes: settings.isBGZF ? BGZF.blockInputBytes : settings.blockBytes)
        do throws(StageError) {
            var plan = StagePlan(try GzipStage(settings), heldBytes: held)
            plan.output = args.has("force") ? .other : .compressed
            plan.carriesLines = false
            return plan
        } catch {
            throw .runtime("gzip: \(error.message)")
        }
    }

    /// The level the options ask for: the last of `-N`, `--level N`, `--fast`, `--best`.
    static func level(from args: OptionReader) throws(SluiceError) -> Int {
        guard let last = args.parsed.given.last(where: { ["level", "fast", "best"].contains($0.key) }) else { return 6 }
        switch last.key {
        case "fast": return 1
        case "best": return 9
        default:
            guard let text = last.value, let n = Int(text), (1...9).contains(n) else {
                if last.spelling.hasPrefix("--") {
                    throw args.fail("\(last.spelling): invalid level '\(last.value ?? "")' (use 1 to 9)")
                }
                throw args.fail("invalid level '\(last.spelling)' (use -1 to -9)")
            }
            return n
        }
    }
}
