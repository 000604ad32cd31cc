import CZstd

/// `zstd`: compresses the stream with libzstd, as the zstd CLI does: level 3, with a
/// content checksum; on one thread one frame, on more (the default: one per online core),
/// as pzstd does, a frame per block, compressed in parallel (`ParallelZstdEncoder`).
public struct ZstdStage: Stage {
    public struct Settings: Sendable, Equatable {
        public var parameters = ZstdParameters()
        public var threads = 1
        /// The input of each frame on the parallel path.
        public var blockBytes = ZstdStage.defaultBlockBytes
        /// `--adapt[=MIN:MAX]`: the levels the stage may move between; nil: fixed.
        public var adaptRange: ClosedRange<Int>?
        /// How long the input may stay quiet before what was compressed so far is flushed
        /// (`--flush-idle`); nil: never.
        public var flushIdleNanos: UInt64? = StageContext.defaultFlushIdleNanos

        public init(parameters: ZstdParameters = ZstdParameters(), threads: Int = 1) {
            self.parameters = parameters
            self.threads = threads
        }

        /// A frame per block on threads; one thread, and `--long` (whose window a block
        /// would cut short), make one frame.
        var isParallel: Bool { threads > 1 && parameters.longWindowLog == nil }
    }

    private let settings: Settings
    /// One frame, on the stage's thread; nil on the parallel path.
    private let encoder: ZstdEncoder?
    private var parallel: ParallelZstdEncoder?
    /// Input taken since the last flush.
    private var hasUnflushedInput = false
    /// Moves the level with the pressure (`--adapt`); nil: a fixed level.
    private var adapter: LevelAdapter?

    public init(_ settings: Settings) throws(StageError) {
        self.settings = settings
        var parameters = settings.parameters
        if let range = settings.adaptRange {
            let adapter = LevelAdapter(range: range, start: parameters.level)
            parameters.level = adapter.level
            self.adapter = adapter
        }
        encoder = settings.isParallel ? nil : try ZstdEncoder(parameters)
        self.parameters = parameters
    }

    /// The parameters the stage starts with (the adapter's first level).
    private let parameters: ZstdParameters

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        if let adapter { out.stats?.counters.set(adapter.level, for: "level") }
        if encoder == nil {
            let engine = ParallelZstdEncoder(parameters: parameters, threads: settings.threads,
                                             blockBytes: settings.blockBytes)
            let counters = out.stats?.counters
            engine.onSubmit = { level, bytes in counters?.add(bytes, to: "level_bytes.\(level)") }
            parallel = engine
        }
        return .more
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        try adapt(into: &out)
        if let encoder {
            out.stats?.counters.add(input.count, to: "level_bytes.\(encoder.parameters.level)")
            try encoder.compress(input.bytes, mode: ZSTD_e_continue, into: &out)
            hasUnflushedInput = true
        } else {
            try parallel!.compress(input.bytes, into: &out)
        }
        return .more
    }

    /// `--adapt`: a new level when the last window calls for one, before the next input.
    /// On one stream the level holds for a whole frame: a new level ends the frame and
    /// starts another (frames concatenate; every zstd decoder reads them as one stream).
    private mutating func adapt(into out: inout Emitter) throws(StageError) {
        guard adapter != nil, let stats = out.stats else { return }
        let now = monotonicNanos()
        guard let level = adapter!.observe(stats.snapshot(at: now), at: now) else { return }
        if let encoder { try encoder.restart(level: level, into: &out) } else { parallel?.level = level }
        stats.counters.set(level, for: "level")
    }

    public var idleNanos: UInt64? { settings.flushIdleNanos }

    /// The input went quiet: flush libzstd's block so everything so far decodes
    /// downstream; the frame goes on.
    /// On the parallel path, the block being filled goes out as a short frame.
    public mutating func idle(into out: inout Emitter) throws(StageError) {
        guard let encoder else { return try parallel!.flushPartialBlock(into: &out) }
        guard hasUnflushedInput else { return }
        try encoder.compress(UnsafeRawBufferPointer(start: nil, count: 0), mode: ZSTD_e_flush, into: &out)
        hasUnflushedInput = false
    }

    public mutating func willWait(into out: inout Emitter) throws(StageError) {
        try parallel?.writeFinished(waiting: false, into: &out)
        try out.flush()
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        guard let encoder else { return try parallel!.finish(into: &out) }
        try encoder.compress(UnsafeRawBufferPointer(start: nil, count: 0), mode: ZSTD_e_end, into: &out)
    }

    public mutating func close() {
        parallel?.stop()
        parallel = nil
    }

    /// 4 MiB of input per frame on the parallel path: see the stage's note for the
    /// measurement (ratio against block size).
    public static let defaultBlockBytes = 4 << 20

    /// The levels: 1 to 19, to 22 with `--ultra`, and zstd's negative ones by `--fast=N`.
    static let levels = 1...19
    static let ultraLevels = 20...22
    /// `--fast=N` goes down to level -N, at most libzstd's lowest.
    static var fastest: Int { -Int(ZSTD_minCLevel()) }

    public static let descriptor = StageDescriptor(
        name: "zstd",
        synopsis: "zstd [-1..-19] [--ultra -20..-22] [--fast[=N]] [-p N [--block SIZE]] [--long[=WLOG]] [--no-check] "
            + "[--adapt[=MIN:MAX]] [--flush-idle DURATION] [-f] [-ck]",
        summary: "compress with libzstd (level 3), as zstd does; on N threads a frame per block, as pzstd",
        options: [
            OptionSpec(nil, "level", .required("N"), help: "compression level, 1 (fast) to 19 (small); -1 ... -19 too"),
            OptionSpec(nil, "ultra", help: "allow levels 20 to 22 (a window up to 128 MiB: much more memory)"),
            OptionSpec(nil, "fast", .optional("N"), help: "the faster negative level -N (1)"),
            OptionSpec("p", "threads", .required("N"), help: "compress on N threads (default: one per online core)"),
            OptionSpec("T", nil, .required("N"), key: "threads", help: "the same, as zstd spells it (-T2)"),
            OptionSpec(nil, "block", .required("SIZE"), help: "input per frame on N threads (default 4M)"),
            OptionSpec(nil, "long", .optional("WLOG"),
                       help: "long-distance matching over a window of 2^WLOG bytes (27: 128 MiB; 10 to 31); one thread"),
            OptionSpec(nil, "check", help: "end each frame with a content checksum (the default)"),
            OptionSpec(nil, "no-check", help: "no content checksum"),
            OptionSpec(nil, "adapt", .optional("MIN:MAX"),
                       help: "move the level with the pressure: up when output waits, down when zstd is the limit (1:19); min=MIN,max=MAX too"),
            OptionSpec(nil, "flush-idle", .required("DURATION"),
                       help: "flush what is compressed when input is quiet this long (200ms; 0: never)"),
            OptionSpec("f", "force", help: "write compressed data even to a terminal"),
            OptionSpec("d", "decompress", help: "refused, naming the stage that decompresses: unzstd"),
        ] + GzipStage.gzipHabits,
        digitsKey: "level"
    ) { args, context throws(SluiceError) in
        if let given = args.last("decompress") {
            throw args.fail("\(given.spelling): to decompress, use the unzstd stage")
        }
        var settings = Settings()
        settings.parameters.level = try level(from: args)
        let lastCheck = args.parsed.given.last { $0.key == "check" || $0.key == "no-check" }
        settings.parameters.hasChecksum = lastCheck?.key != "no-check"
        settings.threads = try args.threadCount("threads", default: GzipStage.onlineCores)
        settings.blockBytes = try args.size("block", default: settings.blockBytes, min: 64 << 10, max: 256 << 20)
        if let given = args.last("long") {
            settings.parameters.longWindowLog = try windowLog(given, args)
        }
        if let given = args.last("adapt") {
            let top = args.has("ultra") ? ultraLevels.upperBound : levels.upperBound
            settings.adaptRange = try LevelAdapter.range(given, args, levels: 1...top, defaultRange: 1...levels.upperBound)
        }
        settings.flushIdleNanos = try args.flushIdleNanos(default: settings.flushIdleNanos)
        do throws(StageError) {
            var plan = StagePlan(try ZstdStage(settings), heldBytes: heldBytes(settings))
            plan.output = args.has("force") ? .other : .compressed
            plan.carriesLines = false
            return plan
        } catch {
            throw .runtime("zstd: \(error.message)")
        }
    }

    /// libzstd's context at the highest level the stage may use; on the parallel path, a
    /// context per thread for a block's frame, and the slots.
    static func heldBytes(_ settings: Settings) -> Int {
        var parameters = settings.parameters
        if let range = settings.adaptRange { parameters.level = range.upperBound }
        guard settings.isParallel else { return parameters.heldBytes() }
        return ParallelZstdEncoder.heldBytes(threads: settings.threads, blockBytes: settings.blockBytes,
                                             parameters: parameters)
    }

    /// The level the options ask for: the last of `-N`, `--level N` and `--fast[=N]`.
    static func level(from args: OptionReader) throws(SluiceError) -> Int {
        guard let last = args.parsed.given.last(where: { ["level", "fast"].contains($0.key) }) else {
            return Zstd.defaultLevel
        }
        if last.key == "fast" {
            guard let text = last.value else { return -1 }
            guard let n = Int(text), (1...fastest).contains(n) else {
                throw args.fail("\(last.spelling): invalid level '\(text)' (use 1 to \(fastest): --fast=5)")
            }
            return -n
        }
        let ultra = args.has("ultra")
        let top = ultra ? ultraLevels.upperBound : levels.upperBound
        guard let text = last.value, let n = Int(text), (1...top).contains(n) else {
            if !ultra, let text = last.value, let n = Int(text), ultraLevels.contains(n) {
                throw args.fail("level \(n) needs --ultra (levels 20 to 22 take much more memory)")
            }
            let shown = last.spelling.hasPrefix("--") ? "'\(last.value ?? "")'" : "'\(last.spelling)'"
            throw args.fail("invalid level \(shown) (use 1 to \(top)\(ultra ? "" : "; 20 to 22 with --ultra"))")
        }
        return n
    }

    /// `--long` (27) or `--long=WLOG`, 10 to 31, as zstd reads it (unzstd's too).
    static func windowLog(_ given: GivenOption, _ args: OptionReader) throws(SluiceError) -> Int {
        guard let text = given.value else { return Zstd.defaultWindowLog }
        guard let n = Int(text), (10...Zstd.maxWindowLog).contains(n) else {
            throw args.fail("\(given.spelling): invalid window log '\(text)' (use 10 to \(Zstd.maxWindowLog): --long=30)")
        }
        return n
    }
}
