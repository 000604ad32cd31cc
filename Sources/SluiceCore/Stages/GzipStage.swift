import CZlib

/// `gzip`: compresses the stream into one RFC 1952 gzip member with zlib's deflate.
public struct GzipStage: Stage {
    private let deflater: Deflater

    public init(level: Int) throws(StageError) {
        deflater = try Deflater(level: level)
    }

    public mutating func process(_ input: Chunk, into out: inout Emitter) throws(StageError) -> Flow {
        try deflater.compress(input.bytes, flush: Z_NO_FLUSH, into: &out)
        return .more
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        try deflater.compress(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH, into: &out)
    }

    public mutating func close() { deflater.end() }

    public static let descriptor = StageDescriptor(
        name: "gzip", synopsis: "gzip [-1..-9] [--level N]",
        summary: "compress into one gzip member with zlib (level 6 by default)",
        options: [
            OptionSpec(nil, "level", .required("N"), help: "compression level, 1 (fast) to 9 (small); -1 ... -9 too"),
            OptionSpec(nil, "fast", key: "fast", help: "level 1"),
            OptionSpec(nil, "best", key: "best", help: "level 9"),
        ],
        digitsKey: "level"
    ) { args, _ throws(SluiceError) in
        let level = try GzipStage.level(from: args)
        do throws(StageError) {
            return StageBuild(try GzipStage(level: level), heldBytes: Deflater.heldBytes)
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
