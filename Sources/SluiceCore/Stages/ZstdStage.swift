import CZstd

/// `zstd`: compresses the stream with libzstd, as the zstd CLI does: one frame, level 3,
/// with a content checksum.
public struct ZstdStage: Stage {
    public struct Settings: Sendable, Equatable {
        public var parameters = ZstdParameters()
        /// `--adapt[=MIN:MAX]`: the levels the stage may move between; nil: fixed.
        public var adaptRange: ClosedRange<Int>?
        /// How long the input may stay quiet before what was compressed so far is flushed
        /// (`--flush-idle`); nil: never.
        public var flushIdleNanos: UInt64? = StageContext.defaultFlushIdleNanos

        public init(parameters: ZstdParameters = ZstdParameters()) {
            self.parameters = parameters
        }
    }

    private let settings: Settings
    private let encoder: ZstdEncoder
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
        encoder = try ZstdEncoder(parameters)
    }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        if let adapter { out.stats?.counters.set(adapter.level, for: "level") }
        return .more
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        try adapt(into: &out)
        out.stats?.counters.add(input.count, to: "level_bytes.\(encoder.parameters.level)")
        try encoder.compress(input.bytes, mode: ZSTD_e_continue, into: &out)
        hasUnflushedInput = true
        return .more
    }

    /// `--adapt`: a new level when the last window calls for one, before the next input.
    /// On one stream the level holds for a whole frame: a new level ends the frame and
    /// starts another (frames concatenate; every zstd decoder reads them as one stream).
    private mutating func adapt(into out: inout Emitter) throws(StageError) {
        guard adapter != nil, let stats = out.stats else { return }
        let now = monotonicNanos()
        guard let level = adapter!.observe(stats.snapshot(at: now), at: now) else { return }
        try encoder.restart(level: level, into: &out)
        stats.counters.set(level, for: "level")
    }

    public var idleNanos: UInt64? { settings.flushIdleNanos }

    /// The input went quiet: flush libzstd's block so everything so far decodes
    /// downstream; the frame goes on.
    public mutating func idle(into out: inout Emitter) throws(StageError) {
        guard hasUnflushedInput else { return }
        try encoder.compress(UnsafeRawBufferPointer(start: nil, count: 0), mode: ZSTD_e_flush, into: &out)
        hasUnflushedInput = false
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        try encoder.compress(UnsafeRawBufferPointer(start: nil, count: 0), mode: ZSTD_e_end, into: &out)
    }

    /// The levels: 1 to 19, to 22 with `--ultra`, and zstd's negative ones by `--fast=N`.
    static let levels = 1...19
    static let ultraLevels = 20...22
    /// `--fast=N` goes down to level -N, at most libzstd's lowest.
    static var fastest: Int { -Int(ZSTD_minCLevel()) }

    public static let descriptor = StageDescriptor(
        name: "zstd",
        synopsis: "zstd [-1..-19] [--ultra -20..-22] [--fast[=N]] [--long[=WLOG]] [--no-check] [--adapt[=MIN:MAX]] "
            + "[--flush-idle DURATION] [-f] [-ck]",
        summary: "compress with libzstd (level 3), as zstd does",
        options: [
            OptionSpec(nil, "level", .required("N"), help: "compression level, 1 (fast) to 19 (small); -1 ... -19 too"),
            OptionSpec(nil, "ultra", help: "allow levels 20 to 22 (a window up to 128 MiB: much more memory)"),
            OptionSpec(nil, "fast", .optional("N"), help: "the faster negative level -N (1)"),
            OptionSpec(nil, "long", .optional("WLOG"),
                       help: "long-distance matching over a window of 2^WLOG bytes (27: 128 MiB; 10 to 31)"),
            OptionSpec(nil, "check", help: "end each frame with a content checksum (the default)"),
            OptionSpec(nil, "no-check", help: "no content checksum"),
            OptionSpec(nil, "adapt", .optional("MIN:MAX"),
                       help: "move the level with the pressure: up when output waits, down when zstd is the limit (1:19)"),
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

    /// libzstd's context at the highest level the stage may use.
    static func heldBytes(_ settings: Settings) -> Int {
        var parameters = settings.parameters
        if let range = settings.adaptRange { parameters.level = range.upperBound }
        return parameters.heldBytes()
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
