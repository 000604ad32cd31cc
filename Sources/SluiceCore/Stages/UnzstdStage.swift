/// `unzstd`: decompresses zstd input, frame after frame (skippable and legacy frames
/// too), as `zstd -dc` does, through the same libzstd. A frame whose window is over
/// 128 MiB is refused unless `--long=WLOG` or `--memory SIZE` allows it.
public struct UnzstdStage: Stage {
    private var decoder: FrameDecoder
    private let diagnostics: Diagnostics?

    public init(trailing: TrailingPolicy = .error, maxWindowBytes: UInt64 = 1 << UInt64(Zstd.defaultWindowLog),
                diagnostics: Diagnostics? = nil) throws(StageError) {
        decoder = try FrameDecoder(trailing: trailing, maxWindowBytes: maxWindowBytes, limitFlags: Self.limitFlags)
        self.diagnostics = diagnostics
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        var rest = input.bytes
        while !rest.isEmpty {
            let taken = try decoder.step(rest, into: &out)
            rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
        }
        warnOnce()
        return .more
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        try decoder.finish()
        warnOnce()
    }

    private mutating func warnOnce() {
        guard let warning = decoder.warning else { return }
        diagnostics?.warn("unzstd", warning)
        decoder.warning = nil
    }

    /// The flags that allow a window of 2^`windowLog` (at least `bytes`), as zstd names
    /// them: `--long=30 or --memory 1G`.
    static func limitFlags(windowLog: Int, bytes: UInt64) -> String {
        let size = windowLog >= 30 ? "\(1 << (windowLog - 30))G" : windowLog >= 20 ? "\(1 << (windowLog - 20))M"
            : "\(1 << (windowLog - 10))K"
        return "--long=\(windowLog) or --memory \(size)"
    }

    public static let descriptor = StageDescriptor(
        name: "unzstd", aliases: ["zstdcat"], synopsis: "unzstd [--long[=WLOG] | --memory SIZE] [--trailing=error|warn|ignore] [-ck]",
        summary: "decompress zstd input, concatenated and skippable frames too, checking every checksum",
        options: [
            OptionSpec(nil, "long", .optional("WLOG"),
                       help: "allow frames with a window up to 2^WLOG bytes (27 without WLOG; 10 to 31)"),
            OptionSpec(nil, "memory", .required("SIZE"),
                       help: "allow frames with a window up to SIZE (default 128M)"),
            TrailingPolicy.option,
            OptionSpec("d", "decompress", help: "accepted, as zstd's: unzstd decompresses"),
        ] + GzipStage.gzipHabits
    ) { args, context throws(SluiceError) in
        let policy = try TrailingPolicy.parse(args)
        var maxWindow = UInt64(1) << UInt64(Zstd.defaultWindowLog)
        // The last of --long and --memory counts, as in zstd.
        if let last = args.parsed.given.last(where: { $0.key == "long" || $0.key == "memory" }) {
            if last.key == "long" {
                maxWindow = UInt64(1) << UInt64(try ZstdStage.windowLog(last, args))
            } else {
                maxWindow = UInt64(try args.parseSize(last.value ?? "", for: last.spelling, min: 1 << 10,
                                                      max: 1 << Zstd.maxWindowLog))
            }
        }
        do throws(StageError) {
            var plan = StagePlan(try UnzstdStage(trailing: policy, maxWindowBytes: maxWindow, diagnostics: context.diagnostics),
                                 heldBytes: FrameDecoder.heldBytes(maxWindowBytes: maxWindow))
            plan.output = .other
            return plan
        } catch {
            throw .runtime("unzstd: \(error.message)")
        }
    }
}
