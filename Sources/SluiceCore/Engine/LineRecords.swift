import CSys
import Glibc

/// Where a dropping channel stands with respect to lines, so that a drop removes whole
/// lines only, and how much it dropped. Kept by the channel, under its lock.
struct LineRecords {
    enum ProducerPosition {
        /// The last byte sent ended a line (or nothing was sent).
        case atLineStart
        /// A line is in progress and its start was kept: its end must be kept too.
        case inKeptLine
        /// A line is in progress and its start was dropped: its end is dropped too.
        case inDroppedLine
    }

    var producer = ProducerPosition.atLineStart
    /// The last chunk the receiver took ended a line (drop-oldest keeps the rest of a
    /// line whose start was delivered).
    var isReceiverAtLineStart = true
    /// Lines dropped: newlines dropped, plus a last unfinished line dropped at the end.
    var droppedRecords = 0
    var droppedBytes = 0

    mutating func countDropped(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        guard !range.isEmpty else { return }
        droppedRecords += countNewlines(UnsafeRawBufferPointer(rebasing: bytes[range]))
        droppedBytes += range.count
    }

    mutating func countDropped(_ queue: QueuedBytes, _ range: Range<Int>) {
        droppedRecords += queue.newlines(in: range)
        droppedBytes += range.count
    }
}

/// The chunks of a queue seen as one run of bytes, for dropping a range of whole lines
/// out of it (drop-oldest).
struct QueuedBytes {
    private(set) var chunks: [Chunk]
    /// Offset of each chunk's first byte in the run; `starts.count == chunks.count`.
    private var starts: [Int] = []
    private(set) var count = 0

    init(_ chunks: [Chunk]) {
        self.chunks = chunks
        recount()
    }

    private mutating func recount() {
        starts = []
        count = 0
        for c in chunks {
            starts.append(count)
            count += c.count
        }
    }

    /// Just past the first newline at or after `offset`, if any.
    func lineEnd(atOrAfter offset: Int) -> Int? {
        firstLineEndAcross(chunks, from: offset)
    }

    /// Just past the last newline at or after `from`, if any.
    func lastLineEnd(from: Int) -> Int? {
        lastLineEndAcross(chunks, from: from, upTo: count)
    }

    func newlines(in range: Range<Int>) -> Int {
        var n = 0
        for (i, c) in chunks.enumerated() {
            let lower = max(range.lowerBound, starts[i]), upper = min(range.upperBound, starts[i] + c.count)
            if lower < upper {
                n += countNewlines(UnsafeRawBufferPointer(rebasing: c.bytes[(lower - starts[i])..<(upper - starts[i])]))
            }
        }
        return n
    }

    /// Removes `range` from the run: chunks wholly inside go back to `pool`, a chunk cut
    /// at one end is trimmed, a chunk that loses its middle closes the gap.
    mutating func remove(_ range: Range<Int>, recycleInto pool: ChunkPool) {
        var kept: [Chunk] = []
        for (i, c) in chunks.enumerated() {
            let a = starts[i], b = a + c.count
            let lower = max(range.lowerBound, a), upper = min(range.upperBound, b)
            if lower >= upper {
                kept.append(c)
            } else if lower == a && upper == b {
                pool.recycle(c)
            } else {
                let prefix = lower - a, suffix = b - upper
                if prefix > 0 && suffix > 0 {
                    memmove(c.base + c.start + prefix, c.base + c.start + (upper - a), suffix)
                } else if prefix == 0 {
                    c.start += upper - a
                }
                c.count = prefix + suffix
                kept.append(c)
            }
        }
        chunks = kept
        recount()
    }
}
