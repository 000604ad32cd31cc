import Glibc

/// `head -n N` / `head -c N`: passes the first N lines or bytes, then stops, so every
/// stage upstream stops reading. Chunks are forwarded whole, the last one trimmed.
public struct HeadStage: Stage {
    public enum Limit: Equatable, Sendable {
        case lines(Int)
        case bytes(Int)
    }

    /// Lines or bytes still to pass; the stage stops when it reaches 0.
    private var remaining: Int
    private let countsLines: Bool

    public init(_ limit: Limit) {
        switch limit {
        case .lines(let n): remaining = n; countsLines = true
        case .bytes(let n): remaining = n; countsLines = false
        }
    }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        remaining == 0 ? .stop : .more
    }

    public mutating func process(_ input: Chunk, into out: inout Emitter) throws(StageError) -> Flow {
        let keep = countsLines ? prefixHoldingLines(input.bytes) : min(remaining, input.count)
        if !countsLines { remaining -= keep }
        input.count = keep
        try out.forward(input)
        return remaining == 0 ? .stop : .more
    }

    /// Length of the prefix of `bytes` that ends at the `remaining`-th newline (or all of
    /// it), counting the newlines passed off `remaining`.
    private mutating func prefixHoldingLines(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        var offset = 0
        while remaining > 0, offset < bytes.count {
            guard let hit = memchr(base + offset, 0x0A, bytes.count - offset) else { return bytes.count }
            offset = base.distance(to: UnsafeRawPointer(hit)) + 1
            remaining -= 1
        }
        return offset
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {}

    public static let descriptor = StageDescriptor(
        name: "head", synopsis: "head [-n LINES | -c BYTES]",
        summary: "pass the first LINES lines (default 10) or BYTES bytes, then stop reading",
        options: [
            OptionSpec("n", "lines", .required("LINES"), help: "pass the first LINES lines"),
            OptionSpec("c", "bytes", .required("BYTES"), help: "pass the first BYTES bytes (K, M, G suffixes)"),
        ],
        digitsKey: "lines"
    ) { args, _ throws(SluiceError) in
        let last = args.parsed.given.last { $0.key == "lines" || $0.key == "bytes" }
        guard let last, let text = last.value else { return StageBuild(HeadStage(.lines(10))) }
        let n = try args.parseCount(text, for: last.spelling)
        return StageBuild(HeadStage(last.key == "lines" ? .lines(n) : .bytes(n)))
    }
}
