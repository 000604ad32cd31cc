import CSys
import Glibc

/// Cuts a byte stream into complete lines (each ending in `separator`, "\n" unless `grep
/// -z` asks for NUL-ended records) without copying them: each chunk yields at
/// most one line completed from the bytes held over (`completedLine`, in the held
/// buffer), then the run of complete lines inside the chunk (`lines`, a slice of the
/// chunk itself), then a tail without a separator, which the caller hands back with
/// `keep` once it is done with `completedLine` (keeping it overwrites the held buffer).
/// `LineStageAdapter` is its one user, and makes those calls in that order.
///
/// Invariants: the held partial line never exceeds `maxLineBytes` (a longer line is an
/// error, never unbounded growth); `offset` is the stream offset of the next byte fed.
struct LineSplitter {
    /// What one chunk yields.
    struct Split {
        /// A line finished by this chunk, the start of which was held over; ends in the
        /// separator.
        var completedLine: UnsafeRawBufferPointer?
        /// The complete lines inside the chunk after that; empty or ends in the separator.
        var lines: UnsafeRawBufferPointer
        /// The bytes after the last separator, to hand back with `keep`; nil when the chunk
        /// had none (its bytes already joined the held partial line).
        var tail: UnsafeRawBufferPointer?
    }

    let maxLineBytes: Int
    /// The byte that ends a line.
    let separator: UInt8
    /// The partial line held over from earlier chunks.
    private var held: ByteBuffer
    /// Stream offset of the first held byte (or of the next byte when none is held).
    private var heldStart = 0
    /// Stream offset of the next byte fed.
    private var offset = 0

    init(maxLineBytes: Int, separator: UInt8 = 0x0A) {
        self.maxLineBytes = maxLineBytes
        self.separator = separator
        held = ByteBuffer(limit: maxLineBytes)
    }

    /// The most memory a splitter holds: one partial line of up to `maxLineBytes`, and
    /// room for the separator `finish` may add.
    static func memoryBound(maxLineBytes: Int) -> Int { maxLineBytes + 1 }

    /// Cuts `bytes`. With no separator in it, the bytes join the held partial line and the
    /// split is empty. Throws when a line grows past the limit.
    mutating func split(_ bytes: UnsafeRawBufferPointer) throws(StageError) -> Split {
        let start = offset
        offset += bytes.count
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            return Split(completedLine: nil, lines: bytes, tail: nil)
        }
        guard let firstEnd = firstLineEnd(bytes, separator: separator) else {
            try hold(bytes, at: start)
            return Split(completedLine: nil, lines: UnsafeRawBufferPointer(start: base, count: 0), tail: nil)
        }
        var first = firstEnd - 1
        var completed: UnsafeRawBufferPointer?
        if !held.isEmpty {
            try checkLength(held.count + first, at: heldStart)
            held.append(UnsafeRawBufferPointer(rebasing: bytes[...first]))
            completed = held.bytes
            first += 1
        } else {
            first = 0
        }
        let last = lastLineEnd(bytes, separator: separator)!
        let lines = UnsafeRawBufferPointer(rebasing: bytes[first..<max(first, last)])
        if lines.count > maxLineBytes { try checkLines(lines, at: start + first) }
        return Split(completedLine: completed, lines: lines, tail: UnsafeRawBufferPointer(rebasing: bytes[last...]))
    }

    /// Holds `tail` (a split's non-nil tail) as the new partial line; call after the
    /// split's `completedLine` is no longer needed.
    mutating func keep(_ tail: UnsafeRawBufferPointer) throws(StageError) {
        held.removeAll()
        heldStart = offset - tail.count
        try hold(tail, at: heldStart)
    }

    /// The held partial line at end of input (no separator), with the separator added
    /// when `completing` (grep prints a last line that way); empty when none is held.
    mutating func finish(completing: Bool) -> UnsafeRawBufferPointer {
        if held.isEmpty { return held.bytes }
        if completing { held.append(byte: separator) }
        return held.bytes
    }

    /// Frees the held buffer.
    mutating func release() { held.release() }

    private mutating func hold(_ bytes: UnsafeRawBufferPointer, at start: Int) throws(StageError) {
        if held.isEmpty { heldStart = start }
        try checkLength(held.count + bytes.count, at: heldStart)
        held.append(bytes)
    }

    private func checkLength(_ length: Int, at start: Int) throws(StageError) {
        if length > maxLineBytes { throw LineSplitter.tooLong(maxLineBytes, at: start) }
    }

    /// Checks every line of a run, for the rare `--max-line` below the chunk size.
    private func checkLines(_ lines: UnsafeRawBufferPointer, at start: Int) throws(StageError) {
        var from = 0
        while from < lines.count {
            let end = firstLineEnd(lines, from: from, separator: separator)! - 1
            try checkLength(end - from, at: start + from)
            from = end + 1
        }
    }

    static func tooLong(_ limit: Int, at offset: Int) -> StageError {
        .failed("line longer than \(Sizes.human(limit)) at byte \(offset) (raise --max-line)")
    }
}
