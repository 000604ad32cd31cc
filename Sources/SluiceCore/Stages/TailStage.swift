import CSys
import Glibc

/// `tail`: the last N lines or bytes, as coreutils tail prints them, or with `+N`
/// everything from line or byte N on. It holds only what may still be among the last N:
/// whole segments that cannot are dropped as input arrives, so memory is bounded by N
/// lines (each within `--max-line`) or N bytes, plus one segment.
public struct TailStage: Stage {
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

    private let limit: Limit
    private var held = ByteQueue()
    private var splitter: LineSplitter
    /// Lines or bytes still to skip (`from...`).
    private var toSkip: Int

    public init(_ limit: Limit, maxLineBytes: Int = GlobalOptions.defaultMaxLineBytes) {
        self.limit = limit
        switch limit {
        case .fromLine(let n), .fromByte(let n): toSkip = max(0, n - 1)
        default: toSkip = 0
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
        case .bytes(let n):
            held.append(input.bytes)
            held.trimKeepingBytes(n)
        case .lines(let n):
            let split = try splitter.split(input.bytes)
            if let line = split.completedLine { held.append(line) }
            try splitter.keep(split.tail)
            held.append(split.lines)
            held.trimKeepingLines(n)
        case .fromByte:
            let skip = min(toSkip, input.count)
            toSkip -= skip
            input.chunk.start += skip
            input.chunk.count -= skip
            try out.forward(input)
        case .fromLine:
            try skipLines(input, into: &out)
        }
        return .more
    }

    /// `+N` lines: drop lines until N - 1 are gone, then pass the rest of each chunk.
    private mutating func skipLines(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) {
        if toSkip == 0 {
            try out.forward(input)
            return
        }
        let split = try splitter.split(input.bytes)
        if split.completedLine != nil { toSkip -= 1 }
        try splitter.keep(split.tail)
        let lines = split.lines
        var at = 0
        while toSkip > 0 && at < lines.count {
            at = lineEnd(lines.baseAddress!, lines.count, at)
            toSkip -= 1
        }
        if toSkip == 0 {
            // Everything after the skipped lines, the unfinished line included, passes.
            let rest = input.bytes.baseAddress!.distance(to: lines.baseAddress! + at)
            input.chunk.start += rest
            input.chunk.count -= rest
            try out.forward(input)
            splitter.release()
        }
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        switch limit {
        case .bytes(let n):
            try held.emit(from: max(0, held.count - n), into: &out)
        case .lines(let n):
            let partial = splitter.finish(addingNewline: false)
            held.append(partial)
            try held.emit(from: held.startOfLast(n, hasPartialLine: !partial.isEmpty), into: &out)
        case .fromLine:
            // Input ended while still skipping: a last unfinished line may be wanted.
            if toSkip == 0 { try out.write(splitter.finish(addingNewline: false)) }
        case .fromByte:
            break
        }
    }

    public mutating func close() {
        held.release()
        splitter.release()
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
        let held: Int
        switch limit {
        case .bytes(let n): held = n + ByteQueue.segmentBytes
        case .fromByte: held = 0
        default: held = context.maxLineBytes + ByteQueue.segmentBytes  // plus the N lines held
        }
        var plan = StagePlan(TailStage(limit, maxLineBytes: context.maxLineBytes), heldBytes: held)
        plan.inputStart = inputStart(for: limit)
        return plan
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
                startOfLastLines(n + 1, in: file, from: offset, size: size) ?? offset
            }
        case .fromLine, .fromByte:
            return nil
        }
    }

    /// The offset just past the `newlines`th newline before `size`, reading backwards
    /// with pread(2) no further than `from`; nil when there are fewer.
    static func startOfLastLines(_ newlines: Int, in file: FileDescriptor, from: Int, size: Int) -> Int? {
        let blockBytes = 64 << 10
        let block = UnsafeMutableRawPointer.allocate(byteCount: blockBytes, alignment: 16)
        defer { block.deallocate() }
        var end = size
        var seen = 0
        while end > from {
            let start = max(from, end - blockBytes)
            let n = pread(file.rawValue, block, end - start, off_t(start))
            if n < 0 && errno == EINTR { continue }
            guard n == end - start else { return nil }
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
