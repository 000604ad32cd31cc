/// A stage, ready to run, with the buffer that follows it. A stage's factory makes it;
/// the registry names it and resolves its buffer.
public struct StagePlan {
    /// The name used in messages and stats (`gzip`, `grep`).
    public var name = ""
    /// What `--stats`, `-P` and the bottleneck call the stage: its name, unless another
    /// stage has the same (`StageLabels`); empty means the name.
    public var label = ""
    public var stage: any Stage
    /// The stage's output buffer.
    public var buffer = BufferSettings()
    /// The most memory the stage holds beyond its chunks (a line, zlib state, the lines
    /// `tail` keeps), for the bound.
    public var heldBytes: Int
    /// How many of the pool's chunks the stage keeps out of the channels while it runs
    /// (counted in `heldBytes`): `gunzip -p`'s jobs decode into chunks they then forward.
    /// The pool keeps that many more idle chunks for reuse; without them it freed and
    /// allocated chunks all run long, and malloc's per-thread arenas kept what was freed
    /// (peak RSS 18 MiB for `gunzip -p 4`, over its 17 MiB bound, 11 MiB with them).
    public var heldChunks = 0
    /// Where the first stage may start reading when stdin is a regular file: `tail`
    /// skips to its last lines or bytes, as coreutils tail seeks. Nil: from the start.
    public var inputStart: InputStart?
    /// False when the stage's output is not lines (gzip): a drop policy would corrupt it.
    public var carriesLines = true
    /// When the stage is first on a regular-file stdin, how to tell what it consumed, so
    /// stdin is left just past it (`head`, `grep -m`). Nil: stdin is left wherever the
    /// reader stopped, which may be past what the stage used.
    public var inputConsumption: InputConsumption?
    /// What the stage's output is, for the terminal check: compressed bytes (gzip), or
    /// whatever came in (cat, buffer, head, grep...), or anything else.
    public var output = OutputKind.sameAsInput

    public enum OutputKind: Sendable {
        case sameAsInput
        /// Not for a terminal (gzip without -f).
        case compressed
        case other
    }

    public init(_ stage: any Stage, heldBytes: Int = 0) {
        self.stage = stage
        self.heldBytes = heldBytes
    }
}

/// Given a regular file (descriptor, current offset, size), the offset from which the
/// stage's output is the same as from the current one (at least the current offset).
public typealias InputStart = @Sendable (FileDescriptor, _ offset: Int, _ size: Int) -> Int
