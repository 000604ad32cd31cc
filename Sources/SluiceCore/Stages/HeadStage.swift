import Glibc

/// `head`: the first N lines or bytes, then stop, so that every stage upstream stops
/// reading; or, with a negative count as in GNU head, all but the last N. The line modes
/// are `LineStage`s, so no line longer than `--max-line` is ever held (`head -n 1 <
/// /dev/zero` ends with that error instead of eating memory). Input chunks are forwarded
/// without copying where they can be.
public enum HeadStage {
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

    /// The stage that passes what `limit` asks for.
    public static func make(_ limit: Limit, maxLineBytes: Int = GlobalOptions.defaultMaxLineBytes) -> any Stage {
        switch limit {
        case .lines(let n): LineStageAdapter(FirstLines(remaining: n), maxLineBytes: maxLineBytes)
        case .bytes(let n): FirstBytes(remaining: n)
        case .allButLines(let n): LineStageAdapter(AllButLastLines(keeping: n), maxLineBytes: maxLineBytes)
        case .allButBytes(let n): AllButLastBytes(keeping: n)
        }
    }

    /// `head -n N`: the first N lines; a last line without a newline counts, and passes as
    /// it is.
    struct FirstLines: LineStage {
        /// Lines still to pass.
        var remaining: Int

        func begin() -> Flow { remaining == 0 ? .stop : .more }

        mutating func lines(_ run: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) -> LineFlow {
            var end = 0
            while remaining > 0 && end < run.count {
                end = lineEnd(run.baseAddress!, run.count, end)
                remaining -= 1
            }
            return .pass(first: end, then: remaining == 0 ? .stop : .more)
        }

        func finish(lastLine: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) {
            if remaining > 0 { try out.write(lastLine) }
        }
    }

    /// `head -c N`: the first N bytes, forwarding each chunk trimmed.
    struct FirstBytes: Stage {
        /// Bytes still to pass.
        var remaining: Int

        func begin(into out: inout Emitter) throws(StageError) -> Flow { remaining == 0 ? .stop : .more }

        mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
            let keep = min(remaining, input.count)
            remaining -= keep
            input.chunk.count = keep
            try out.forward(input)
            return remaining == 0 ? .stop : .more
        }

        func finish(into out: inout Emitter) throws(StageError) {}
    }

    /// `head -n -N`: every line but the last N. Holds exactly the last N complete lines
    /// seen (fewer at first), and writes out whatever falls before them.
    struct AllButLastLines: LineStage {
        let keeping: Int
        /// The last `keeping` complete lines seen, or all of them while fewer.
        private(set) var held = ByteQueue()

        init(keeping: Int) { self.keeping = keeping }

        mutating func lines(_ run: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) -> LineFlow {
            held.append(run)
            if held.newlines > keeping, let cut = held.offset(afterNewline: held.newlines - keeping) {
                try held.emitFront(cut, into: &out)
            }
            return .more
        }

        mutating func finish(lastLine: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) {
            held.append(lastLine)
            try held.emitFront(held.startOfLast(keeping, hasPartialLine: !lastLine.isEmpty), into: &out)
        }

        mutating func close() { held.release() }
    }

    /// `head -c -N`: every byte but the last N. Holds at most the last N bytes seen.
    struct AllButLastBytes: Stage {
        let keeping: Int
        private var held = ByteQueue()

        init(keeping: Int) { self.keeping = keeping }

        mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
            held.append(input.bytes)
            if held.count > keeping { try held.emitFront(held.count - keeping, into: &out) }
            return .more
        }

        func finish(into out: inout Emitter) throws(StageError) {}

        mutating func close() { held.release() }
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
        var plan = StagePlan(make(limit, maxLineBytes: context.maxLineBytes), heldBytes: heldBytes(limit, context))
        plan.inputConsumption = .output
        return plan
    }

    /// What the stage for `limit` holds beyond its chunks, at most: a partial line for the
    /// line modes, and what the `allBut` modes keep back in their queue.
    static func heldBytes(_ limit: Limit, _ context: StageContext) -> Int {
        let line = LineSplitter.memoryBound(maxLineBytes: context.maxLineBytes)
        switch limit {
        case .lines:
            return line
        case .bytes:
            return 0
        case .allButLines(let n):
            let kept = ByteQueue.memoryBound(keepingLines: n, maxLineBytes: context.maxLineBytes,
                                             chunkBytes: context.chunkBytes)
            return Saturating.sum(line, kept)
        case .allButBytes(let n):
            return ByteQueue.memoryBound(keeping: n, appending: context.chunkBytes)
        }
    }
}
