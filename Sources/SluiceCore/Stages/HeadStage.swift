import Glibc

/// `head`: the first N lines or bytes, then stop, so that every stage upstream stops
/// reading; or, with a negative count as in GNU head, all but the last N. Lines are cut by
/// the shared `LineSplitter`, so no line longer than `--max-line` is ever held
/// (`head -n 1 < /dev/zero` ends with that error instead of eating memory). Chunks of
/// whole lines are forwarded without copying where they can be.
public struct HeadStage: Stage {
    public enum Limit: Equatable, Sendable {
        /// The first N lines.
        case lines(Int)
        /// The first N bytes.
        case bytes(Int)
        /// All but the last N lines.
        case allButLines(Int)
        /// All but the last N bytes.
        case allButBytes(Int)
    }

    private let limit: Limit
    /// Lines or bytes still to pass (`lines`, `bytes`).
    private var remaining: Int
    private var splitter: LineSplitter
    /// What may still turn out to be among the last N (`allBut...`).
    private var held = ByteQueue()

    public init(_ limit: Limit, maxLineBytes: Int = GlobalOptions.defaultMaxLineBytes) {
        self.limit = limit
        switch limit {
        case .lines(let n), .bytes(let n): remaining = n
        case .allButLines, .allButBytes: remaining = 0
        }
        splitter = LineSplitter(maxLineBytes: maxLineBytes)
    }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        switch limit {
        case .lines(0), .bytes(0): return .stop
        default: return .more
        }
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        switch limit {
        case .bytes:
            let keep = min(remaining, input.count)
            remaining -= keep
            input.chunk.count = keep
            try out.forward(input)
            return remaining == 0 ? .stop : .more
        case .lines:
            return try firstLines(input, into: &out)
        case .allButBytes(let n):
            held.append(input.bytes)
            if held.count > n { try held.emitFront(held.count - n, into: &out) }
            return .more
        case .allButLines(let n):
            let split = try splitter.split(input.bytes)
            if let line = split.completedLine { held.append(line) }
            try splitter.keep(split.tail)
            held.append(split.lines)
            if held.newlines > n, let cut = held.offset(afterNewline: held.newlines - n) {
                try held.emitFront(cut, into: &out)
            }
            return .more
        }
    }

    private mutating func firstLines(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        let split = try splitter.split(input.bytes)
        if let line = split.completedLine {
            try out.write(line)
            remaining -= 1
            if remaining == 0 { return .stop }
        }
        try splitter.keep(split.tail)
        let lines = split.lines
        guard !lines.isEmpty else { return .more }
        var end = 0
        while remaining > 0 && end < lines.count {
            end = lineEnd(lines.baseAddress!, lines.count, end)
            remaining -= 1
        }
        if split.completedLine == nil {
            // The lines wanted are the chunk's own first bytes (its tail, if any, is
            // already kept by the splitter): forward it, trimmed.
            input.chunk.count = end
            try out.forward(input)
        } else {
            try out.write(UnsafeRawBufferPointer(rebasing: lines[..<end]))
        }
        return remaining == 0 ? .stop : .more
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        switch limit {
        case .lines:
            // A last line without a newline counts, and is passed as it is.
            if remaining > 0 { try out.write(splitter.finish(addingNewline: false)) }
        case .bytes, .allButBytes:
            break
        case .allButLines(let n):
            let partial = splitter.finish(addingNewline: false)
            held.append(partial)
            try held.emitFront(held.startOfLast(n, hasPartialLine: !partial.isEmpty), into: &out)
        }
    }

    public mutating func close() {
        splitter.release()
        held.release()
    }

    public static let descriptor = StageDescriptor(
        name: "head", synopsis: "head [-n [-]LINES | -c [-]BYTES]",
        summary: "pass the first LINES lines (default 10) or BYTES bytes, then stop reading",
        options: [
            OptionSpec("n", "lines", .required("[-]LINES"), help: "the first LINES lines; with -, all but the last LINES"),
            OptionSpec("c", "bytes", .required("[-]BYTES"), help: "the first BYTES bytes; with -, all but the last BYTES"),
        ],
        digitsKey: "lines"
    ) { args, context throws(SluiceError) in
        var limit = Limit.lines(10)
        if let (isLines, n, allBut) = try args.countOption(sign: "-") {
            switch (isLines, allBut) {
            case (true, false): limit = .lines(n)
            case (true, true): limit = .allButLines(n)
            case (false, false): limit = .bytes(n)
            case (false, true): limit = .allButBytes(n)
            }
        }
        let held: Int
        switch limit {
        case .lines: held = context.maxLineBytes
        case .bytes: held = 0
        case .allButBytes(let n): held = n + ByteQueue.segmentBytes
        case .allButLines: held = context.maxLineBytes  // plus the N lines, as documented
        }
        return StagePlan(HeadStage(limit, maxLineBytes: context.maxLineBytes), heldBytes: held)
    }
}
