import CSys
import Glibc

/// `tail`: the last N lines or bytes, as coreutils tail prints them, or with `+N`
/// everything from line or byte N on. It holds only what may still be among the last N:
/// whole segments that cannot are dropped as input arrives, so memory stays within
/// `heldBytes`: N lines (each within `--max-line`) or N bytes, plus a little (a partial
/// line, one append, three segments).
public enum TailStage {
    public enum Limit: Equatable, Sendable {
        /// The last N lines.
        case lines(Int)
        /// The last N bytes.
        case bytes(Int)
        /// From line N on (N >= 1).
        case fromLine(Int)
        /// From byte N on (N >= 1).
        case fromByte(Int)
    }

    /// The stage that passes what `limit` asks for.
    public static func make(_ limit: Limit, maxLineBytes: Int = GlobalOptions.defaultMaxLineBytes) -> any Stage {
        switch limit {
        case .lines(let n): LineStageAdapter(LastLines(keeping: n), maxLineBytes: maxLineBytes)
        case .bytes(let n): LastBytes(keeping: n)
        // From line 1 (or 0) nothing is skipped, lines or bytes: every chunk passes as it is.
        case .fromLine(let n) where n <= 1: FromByte(toSkip: 0)
        case .fromLine(let n): LineStageAdapter(FromLine(toSkip: n - 1), maxLineBytes: maxLineBytes)
        case .fromByte(let n): FromByte(toSkip: max(0, n - 1))
        }
    }

    /// `tail -n N`: the last N lines; a last line without a newline counts, and passes as
    /// it is.
    struct LastLines: LineStage {
        let keeping: Int
        /// Complete lines that may still be among the last `keeping`: after each run, the
        /// queue's first segment plus at most `keeping` lines after it.
        private(set) var held = ByteQueue()

        init(keeping: Int) { self.keeping = keeping }

        func begin() -> Flow { keeping == 0 ? .stop : .more }

        mutating func lines(_ run: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) -> LineFlow {
            held.append(run)
            held.trimKeepingLines(keeping)
            return .more
        }

        mutating func finish(lastLine: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) {
            held.append(lastLine)
            try held.emit(from: held.startOfLast(keeping, hasPartialLine: !lastLine.isEmpty), into: &out)
        }

        mutating func close() { held.release() }
    }

    /// `tail -c N`: the last N bytes.
    struct LastBytes: Stage {
        let keeping: Int
        /// The input's last bytes: after each chunk, the queue's first segment plus fewer
        /// than `keeping` bytes after it.
        private var held = ByteQueue()

        init(keeping: Int) { self.keeping = keeping }

        func begin(into out: inout Emitter) throws(StageError) -> Flow { keeping == 0 ? .stop : .more }

        mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
            held.append(input.bytes)
            held.trimKeepingBytes(keeping)
            return .more
        }

        mutating func finish(into out: inout Emitter) throws(StageError) {
            try held.emit(from: max(0, held.count - keeping), into: &out)
        }

        /// The last bytes of what came, as `gzip -dc | tail -c N` writes them.
        var finishesAfterUpstreamFailure: Bool { true }

        mutating func close() { held.release() }
    }

    /// `tail -n +N`, N >= 2: drops lines until N - 1 are gone, then passes everything after
    /// them, the input chunks themselves.
    struct FromLine: LineStage {
        /// Lines still to drop; more than 0 until the stage asks for `passAll`.
        var toSkip: Int

        mutating func lines(_ run: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) -> LineFlow {
            var at = 0
            while toSkip > 0 && at < run.count {
                at = lineEnd(run.baseAddress!, run.count, at)
                toSkip -= 1
            }
            return toSkip == 0 ? .passAll(from: at) : .more
        }

        /// While still skipping, a last line without a newline is one of the lines
        /// dropped; after `passAll` it went out with its chunk, and `lastLine` is empty.
        func finish(lastLine: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) {}
    }

    /// `tail -c +N`: drops N - 1 bytes, then forwards the rest of each chunk.
    struct FromByte: Stage {
        /// Bytes still to drop.
        var toSkip: Int

        mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
            let skip = min(toSkip, input.count)
            toSkip -= skip
            input.chunk.start += skip
            input.chunk.count -= skip
            try out.forward(input)
            return .more
        }

        func finish(into out: inout Emitter) throws(StageError) {}
    }

    public static let descriptor = StageDescriptor(
        name: "tail", synopsis: "tail [-n [+]LINES | -c [+]BYTES]",
        summary: "pass the last LINES lines (default 10) or BYTES bytes; with +, from line or byte N on",
        options: [
            OptionSpec("n", "lines", .required("[+]LINES"), help: "the last LINES lines; with +, from line LINES on"),
            OptionSpec("c", "bytes", .required("[+]BYTES"), help: "the last BYTES bytes; with +, from byte BYTES on"),
        ],
        digitsKey: "lines"
    ) { args, context throws(SluiceError) in
        var limit = Limit.lines(10)
        if let (isLines, n, from) = try args.countOption(sign: "+") {
            switch (isLines, from) {
            case (true, false): limit = .lines(n)
            case (true, true): limit = .fromLine(n)
            case (false, false): limit = .bytes(n)
            case (false, true): limit = .fromByte(n)
            }
        }
        var plan = StagePlan(make(limit, maxLineBytes: context.maxLineBytes), heldBytes: heldBytes(limit, context))
        plan.inputStart = inputStart(for: limit)
        return plan
    }

    /// What the stage for `limit` holds beyond its chunks, at most: a partial line for the
    /// line modes, and the last N lines or bytes in a queue.
    static func heldBytes(_ limit: Limit, _ context: StageContext) -> Int {
        let line = LineSplitter.memoryBound(maxLineBytes: context.maxLineBytes)
        switch limit {
        case .lines(let n):
            let kept = ByteQueue.memoryBound(keepingLines: n, maxLineBytes: context.maxLineBytes,
                                             chunkBytes: context.chunkBytes)
            return Saturating.sum(line, kept)
        case .bytes(let n):
            return ByteQueue.memoryBound(keeping: n, appending: context.chunkBytes)
        case .fromLine:
            return line
        case .fromByte:
            return 0
        }
    }

    /// On a regular file, tail need not read what cannot be among the last N: it starts
    /// N bytes before the end, or after the (N+1)th newline from the end, found by
    /// reading backwards (a last line without "\n" makes that one line too many, which
    /// the stage trims as usual). Any read error: start where the file is.
    static func inputStart(for limit: Limit) -> InputStart? {
        switch limit {
        case .bytes(let n):
            return { _, offset, size in max(offset, size - n) }
        case .lines(let n):
            return { file, offset, size in
                startOfLastLines(Saturating.sum(n, 1), in: file, from: offset, size: size) ?? offset
            }
        case .fromLine, .fromByte:
            return nil
        }
    }

    /// The offset just past the `newlines`th newline before `size`, reading backwards
    /// (`FileDescriptor.read(into:at:)`) no further than `from`; nil when there are fewer,
    /// or when the file ends early or a read fails.
    static func startOfLastLines(_ newlines: Int, in file: FileDescriptor, from: Int, size: Int) -> Int? {
        let blockBytes = 64 << 10
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockBytes, alignment: 16)
        defer { buffer.deallocate() }
        let block = buffer.baseAddress!
        var end = size
        var seen = 0
        while end > from {
            let start = max(from, end - blockBytes)
            let wanted = UnsafeMutableRawBufferPointer(rebasing: buffer[..<(end - start)])
            guard let n = try? file.read(into: wanted, at: start), n == wanted.count else { return nil }
            var length = n
            while let hit = memrchr(block, 0x0A, length) {
                let at = block.distance(to: hit)
                seen += 1
                if seen == newlines { return start + at + 1 }
                length = at
            }
            end = start
        }
        return nil
    }
}
