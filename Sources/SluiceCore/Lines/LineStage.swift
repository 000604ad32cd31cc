/// A stage that works on whole lines: grep, head and tail by lines. It holds only its own
/// logic; `LineStageAdapter` makes it a `Stage`, owning the bytes of the line not yet
/// finished and the `--max-line` bound, as swift-nio's `ByteToMessageHandler` owns the
/// leftover bytes of its decoder.
///
/// Lines come in runs, many lines in one buffer, so that a search covers the whole run
/// (grep's memmem) instead of paying a call per line. A stage does not forward or keep
/// the input chunk itself: it says what should pass with a `LineFlow`, and the adapter
/// does it, zero copy where it can.
public protocol LineStage {
    /// How a last line without "\n" reaches the stage: true, through `lines` with "\n"
    /// added (grep prints it so); false, through `finish(lastLine:)` as it is (head and
    /// tail pass it unchanged). False unless a stage says otherwise.
    static var completesLastLine: Bool { get }

    /// The byte that ends a line: "\n", or NUL for `grep -z`'s records. Read once, when
    /// the adapter is made.
    var separator: UInt8 { get }

    /// Called once before any input; `.stop` when no line is wanted at all (`head -n 0`).
    mutating func begin() -> Flow

    /// Whole lines, each ending in the separator; never empty. The bytes are valid during the call
    /// only.
    mutating func lines(_ run: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) -> LineFlow

    /// The end of input, unless the stage stopped it: `lastLine` is a last line without
    /// a separator, or empty (and always empty when `completesLastLine`).
    mutating func finish(lastLine: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError)

    /// Releases what the stage holds, however it ended.
    mutating func close()

    /// What the stage found, for `Stage.verdict`; nil unless the stage tests its input.
    var verdict: Verdict? { get }
}

extension LineStage {
    public static var completesLastLine: Bool { false }
    public var separator: UInt8 { 0x0A }
    public var verdict: Verdict? { nil }
    public mutating func begin() -> Flow { .more }
    public mutating func close() {}
}

/// What a line stage wants after a run of lines. The passing cases let the adapter hand
/// the input chunk on, trimmed, rather than copy the bytes out of it.
public enum LineFlow: Equatable, Sendable {
    /// More lines, please.
    case more
    /// No more input is wanted.
    case stop
    /// Pass the run's first `count` bytes on (`head -n`), then go on as `then` says. When
    /// the run is the input chunk's own first bytes, the chunk itself goes, trimmed.
    case pass(first: Int, then: Flow)
    /// Pass the run from byte `offset` on, the rest of the input chunk after it, and every
    /// later byte as it comes (`tail -n +N` once it has skipped): the stage wants no more
    /// lines, and the input chunks are forwarded from here on without being split.
    case passAll(from: Int)
}
