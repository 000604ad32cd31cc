/// How many bytes of its input the first stage really consumed, so that a regular-file
/// stdin can be left just past them, where the tool the stage replaces leaves it:
/// `{ sluice head -n 1 > /dev/null; cat; } < file` hands cat line 2 onward, as with
/// coreutils head. The reader reads ahead in whole chunks; after a run that ended
/// normally, `Pipeline.positionInput` seeks stdin back to its start offset plus this.
public enum InputConsumption: Sendable {
    /// What the stage consumed is exactly what it passed on: `head` in every form (for
    /// `head -n -N` and `head -c -N`, coreutils too leaves the offset after its output).
    case output
    /// The stage counts for itself: `grep -m`, up to the end of the last selected line.
    case counted(ConsumedBytes)
}

/// Input bytes a stage consumed, counted by the stage. Written only by the stage's
/// thread; read by the main thread only after joining it (the join orders the two).
public final class ConsumedBytes: @unchecked Sendable {
    public var count = 0

    public init() {}
}
