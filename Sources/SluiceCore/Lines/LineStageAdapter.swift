/// Makes a `LineStage` (`S`) a `Stage`. For each chunk it hands the stage the line completed
/// from held bytes, if any, then the run of whole lines inside the chunk; it keeps the
/// unfinished tail itself, and carries out each `LineFlow` the stage answers.
///
/// Invariants: the stage sees whole lines only, none longer than `--max-line` (a longer
/// one is the splitter's error, never growth); the tail of a chunk is kept before the
/// chunk can be forwarded, and after the completed line, which lives in the buffer that
/// keeping overwrites; once `isPassingAll`, nothing is held and chunks go by untouched;
/// once `isStopped`, the stage is handed nothing more.
public struct LineStageAdapter<S> {
    /// The line stage (tests look at what it holds).
    private(set) var stage: S
    private var splitter: LineSplitter
    /// The stage asked for every byte from some point on (`passAll`).
    private var isPassingAll = false
    /// The stage wants no more input: what is held at the end is not its to see.
    private var isStopped = false

}

// `S: LineStage` is the conformance's requirement, not the type's: to make the metadata
// of a generic type with a requirement, the runtime looks the conformance up among all
// the binary's conformance records, about 60,000 instructions at startup (a tenth of a
// whole `tail -n 1000`); a conditional conformance gets its witness table from the
// compiler instead.
extension LineStageAdapter: Stage where S: LineStage {
    public init(_ stage: S, maxLineBytes: Int) {
        self.stage = stage
        splitter = LineSplitter(maxLineBytes: maxLineBytes, separator: stage.separator)
    }

    public var verdict: Verdict? { stage.verdict }

    /// A line stage's end is the data's: its last line, tail's lines, grep's count.
    public var finishesAfterUpstreamFailure: Bool { true }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        isStopped = stage.begin() == .stop
        return isStopped ? .stop : .more
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        if isPassingAll {
            try out.forward(input)
            return .more
        }
        let split = try splitter.split(input.bytes)
        let run = split.lines
        // Where the run starts in the chunk (after the completed line's last bytes, if any):
        // the split's buffers lie in the chunk, which always has an address.
        let start = input.bytes.baseAddress!.distance(to: run.baseAddress!)
        if let line = split.completedLine {
            switch try copyPassed(stage.lines(line, into: &out), of: line, into: &out) {
            case .more: break
            case .stop: return stop()
            case .passAll: return try passAll(input, from: start, into: &out)
            }
        }
        if let tail = split.tail { try splitter.keep(tail) }
        if run.isEmpty { return .more }
        switch try stage.lines(run, into: &out) {
        case .more:
            return .more
        case .stop:
            return stop()
        case .pass(let count, let then):
            if start == 0 && count > 0 {
                // The lines to pass are the chunk's own first bytes: the chunk goes, trimmed.
                input.chunk.count = count
                try out.forward(input)
            } else {
                try out.write(UnsafeRawBufferPointer(rebasing: run[..<count]))
            }
            return then == .stop ? stop() : .more
        case .passAll(let offset):
            return try passAll(input, from: start + offset, into: &out)
        }
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        if isStopped { return }
        var last = splitter.finish(completing: S.completesLastLine)
        if S.completesLastLine && !last.isEmpty {
            if try copyPassed(stage.lines(last, into: &out), of: last, into: &out) == .stop { return }
            last = UnsafeRawBufferPointer(start: nil, count: 0)
        }
        try stage.finish(lastLine: last, into: &out)
    }

    public mutating func close() {
        splitter.release()
        stage.close()
    }

    /// Carries out the passing part of `flow` for `line`, which is not in the input chunk,
    /// so what passes is copied.
    private func copyPassed(_ flow: LineFlow, of line: UnsafeRawBufferPointer,
                            into out: inout Emitter) throws(StageError) -> HeldFlow {
        switch flow {
        case .more: return .more
        case .stop: return .stop
        case .pass(let count, let then):
            try out.write(UnsafeRawBufferPointer(rebasing: line[..<count]))
            return then == .stop ? .stop : .more
        case .passAll(let offset):
            try out.write(UnsafeRawBufferPointer(rebasing: line[offset...]))
            return .passAll
        }
    }

    private mutating func stop() -> Flow {
        isStopped = true
        return .stop
    }

    /// Forwards `input` from byte `offset` on, and every later chunk whole: the stage is
    /// done with lines, so the held tail (already part of what passes) is let go.
    private mutating func passAll(_ input: consuming ChunkLease, from offset: Int,
                                  into out: inout Emitter) throws(StageError) -> Flow {
        input.chunk.start += offset
        input.chunk.count -= offset
        try out.forward(input)
        isPassingAll = true
        splitter.release()
        return .more
    }
}

/// What is left of a `LineFlow` for a line in the splitter's buffer once the bytes it
/// passes are copied out.
private enum HeldFlow { case more, stop, passAll }
